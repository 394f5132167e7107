package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.Image;
import org.pulmo.data.ImageDecoder;
import org.pulmo.data.Transform;
import org.pulmo.data.Transforms;
import org.pulmo.explain.CropGeometry;
import org.pulmo.explain.GradCam;
import org.pulmo.explain.Heatmaps;
import org.pulmo.explain.Lime;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;
import org.pulmo.train.Inference;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pulmo explain -c C image...}: Grad-CAM (MA-Net paper) and LIME (DPN-SENet paper) for each image given. Writes
 * {@code <name>_input.png} (what the model sees), {@code <name>_gradcam.png} and {@code _gradcam.csv} (the map at
 * the layer's resolution), {@code <name>_lime.png}, {@code _lime.csv} (per model-input pixel) and
 * {@code _lime_segments.csv}. The PNGs show the whole original image at its own resolution, with the map mapped
 * back through the evaluation transform's resize and centre crop; what the crop cut off is dimmed ("not seen by
 * the model"). A title names the explained class and its probability (and the predicted class when they
 * differ), a colour bar gives the scale, and a Grad-CAM map of fewer than {@value #COARSE} x {@value #COARSE}
 * cells is flagged as too coarse to localise anything.
 */
@Command(name = "explain", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Grad-CAM and LIME heatmaps for each image given, as PNG overlays on the whole image and raw maps (CSV).")
public final class ExplainCommand implements Callable<Integer> {
    /** A Grad-CAM map with fewer cells than this on a side says little about where the evidence lies. */
    static final int COARSE = 7;

    @Option(names = {"-c", "--checkpoint"}, required = true, description = "A checkpoint written by 'pulmo train'.") Path checkpoint;
    @Parameters(arity = "0..*", paramLabel = "IMAGE", description = "Images (or 'demo:N' for demo image N), explained one after another"
        + " with the model loaded once; each writes NAME_input.png, NAME_gradcam.png, ... under --out. At least one, but for --layer list.") List<String> inputs = List.of();
    @Option(names = "--method", defaultValue = "both", description = "gradcam, lime or both (default: ${DEFAULT-VALUE}).") String method;
    @Option(names = "--layer", description = "Grad-CAM target layer: stage0 (stem) .. stage4 (last stage), for DPN also conv5_bn_ac, for VGG pool1 .. pool5, for Inception-v3 stem, Mixed_5d, Mixed_6e, Mixed_7c (default: the last; 'list' prints the choices).") String layer;
    @Option(names = "--class", defaultValue = "-1", description = "Class to explain, by index or name (default: the predicted class).") String target;
    @Option(names = "--samples", defaultValue = "1000", description = "LIME perturbed samples, at least 1 (default: ${DEFAULT-VALUE}, as the lime package).") int samples;
    @Option(names = "--superpixels", defaultValue = "40", description = "LIME superpixels, about; at least 1 (default: ${DEFAULT-VALUE}). "
        + "Departure from the lime package: SLIC superpixels of a chosen count instead of its quickshift segmentation.") int superpixels;
    @Option(names = "--seed", defaultValue = "0", description = "LIME sampling seed (default: ${DEFAULT-VALUE}).") long seed;
    @Mixin DeviceOptions deviceOptions;
    @Option(names = {"-o", "--out"}, defaultValue = "runs/explain", description = "Output folder, created if missing (default: ${DEFAULT-VALUE})."
        + " Where it already holds explanations of an image of the same name, the next free <out>2, <out>3, ... is used (--overwrite replaces them).") Path out;
    @Option(names = "--overwrite", description = "Replace earlier explanations of the same images in --out.") boolean overwrite;

    /** The files an image NAME gives: NAME + each of these. */
    static final List<String> SUFFIXES = List.of("_input.png", "_gradcam.png", "_gradcam.csv", "_lime.png", "_lime.csv", "_lime_segments.csv");

    @Override public Integer call() throws Exception {
        // Everything a user typed is checked before the model loads: one line naming the option, never a stack trace.
        if (inputs.isEmpty() && !"list".equals(layer)) throw new IllegalArgumentException("no image to explain: give one or more IMAGE (or demo:N)");
        boolean cam = method.equals("both") || method.equals("gradcam"), lime = method.equals("both") || method.equals("lime");
        if (!cam && !lime) throw new IllegalArgumentException("--method must be gradcam, lime or both, not '" + method + "'");
        if (lime && samples < 1) throw new IllegalArgumentException("--samples must be at least 1, not " + samples);
        if (lime && superpixels < 1) throw new IllegalArgumentException("--superpixels must be at least 1, not " + superpixels);
        java.util.Map<String, String> names = new java.util.LinkedHashMap<>();   // output name -> the input it is of
        for (String input : inputs) {
            String name = name(input);
            String before = names.putIfAbsent(name, input);
            if (before != null)
                throw new IllegalArgumentException("'" + before + "' and '" + input + "' would both write " + name + "_*.png to " + out
                    + "; explain them in two runs with different --out folders");
        }
        TrainedModel tm = TrainedModel.load(checkpoint, deviceOptions.resolve());
        if ("list".equals(layer)) { System.out.println(String.join("\n", GradCam.layers(tm.model()))); return 0; }
        if (cam && GradCam.layers(tm.model()).isEmpty())
            throw new IllegalArgumentException(tm.name() + " has no layer Grad-CAM knows; give --method lime");
        if (cam && layer != null && !GradCam.layers(tm.model()).contains(layer))
            throw new IllegalArgumentException("--layer " + layer + ": " + tm.name() + " has the Grad-CAM layers " + GradCam.layers(tm.model()));
        int cls = classIndex(tm);
        // the output folder is chosen (and made) once everything given is known to be usable: a failed call leaves none
        java.util.function.Predicate<Path> holds = dir -> names.keySet().stream()
            .anyMatch(n -> SUFFIXES.stream().anyMatch(x -> Files.isRegularFile(dir.resolve(n + x))));
        out = Cli.keepEarlier(out, overwrite, holds, "earlier explanations of " + (names.size() == 1 ? "this image" : "these images"));
        boolean made = !Files.exists(out);
        Cli.outputFolder(out, "--out");
        if (overwrite)   // once everything is checked: no stale map of another method stays
            for (String n : names.keySet()) for (String x : SUFFIXES) Files.deleteIfExists(out.resolve(n + x));
        try {
            for (var e : names.entrySet()) explain(tm, e.getValue(), e.getKey(), cls, cam, lime);
        } catch (Exception | Error e) {
            // an image that turned out unreadable: the folder this call made is not left behind empty
            if (made) try (var in = Files.list(out)) { if (in.findAny().isEmpty()) Files.delete(out); } catch (java.io.IOException ignored) { }
            throw e;
        }
        return 0;
    }

    /** The name an input's files take ("demo1", or the image file's name without its extension), once it is known to exist. */
    private static String name(String input) {
        if (input.startsWith("demo:")) {
            int demo;
            try {
                demo = Integer.parseInt(input.substring(5));
            } catch (NumberFormatException e) {
                demo = -1;
            }
            if (demo < 0) throw new IllegalArgumentException("image 'demo:N' needs a demo image number N >= 0, not '" + input + "'");
            return "demo" + demo;
        }
        if (input.isBlank()) throw new IllegalArgumentException("an empty image name; give image files (or 'demo:N')");
        Path p = Path.of(input);
        if (!Files.exists(p)) throw new IllegalArgumentException("no such image: " + p);
        if (Files.isDirectory(p)) throw new IllegalArgumentException("the image " + p + " is a folder; give image files");
        String f = p.getFileName().toString();
        return f.contains(".") ? f.substring(0, f.lastIndexOf('.')) : f;
    }

    /** The explanations of one image ({@code cls} -1: of its predicted class). */
    private void explain(TrainedModel tm, String input, String name, int cls, boolean cam, boolean lime) throws Exception {
        Image raw;
        if (input.startsWith("demo:")) {   // a number >= 0, checked by name()
            int demo = Integer.parseInt(input.substring(5));
            raw = new org.pulmo.data.DemoChestDataset(Math.max(demo + 1, 4), tm.imageSize(), 3003).image(demo);
        } else {
            raw = ImageDecoder.decode(Path.of(input));
        }
        Rng none = new Rng(0);
        Image shown = tm.augmentation().eval(tm.imageSize(), false).apply(raw, none);   // what the model sees, before normalising
        CropGeometry geometry = CropGeometry.of(tm.augmentation(), tm.imageSize(), raw.height(), raw.width());
        Transform normalize = Transforms.imagenetNormalize();
        float[] probs = predict(tm, new Image[] {shown}, normalize)[0];
        Inference.checkFinite(probs, input);   // before anything is written of this image
        Path inputPng = out.resolve(name + "_input.png");
        Cli.write(inputPng, shown::writePng);
        int predicted = argmax(probs);
        if (cls < 0) cls = predicted;
        String cut = geometry.seesAll() ? null
            : "dimmed: not seen by the model (its " + tm.augmentation().label() + " input is the centre " + tm.imageSize() + "x" + tm.imageSize()
                + " after resizing the short side)";
        if (cam) {
            String l = layer != null ? layer : GradCam.defaultLayer(tm.model());
            Tensor x = normalize.apply(shown, none).toTensor().reshape(1, shown.channels(), shown.height(), shown.width())
                .to(Inference.deviceOf(tm.model()));
            GradCam.Result r = GradCam.compute(tm.model(), x, l, cls);
            List<String> title = new ArrayList<>();
            title.add("Grad-CAM (" + l + ") " + what(tm, cls, predicted, probs));
            String note = null;
            if (r.height() < COARSE || r.width() < COARSE)
                note = "coarse: the " + l + " map has only " + r.height() + "x" + r.width() + " cells, too few to show where the evidence lies;"
                    + " an earlier --layer gives a finer map (--layer list)";
            else if (isFlat(r.map()))
                note = "flat: the map is the same everywhere" + (r.map()[0] == 0 ? " (zero: no positive evidence for the class at " + l + ")" : "");
            if (note != null) { title.add(note); System.out.println("note: Grad-CAM " + note); }
            if (cut != null) title.add(cut);
            title.add("colour: weight relative to the map's maximum");
            Path png = out.resolve(name + "_gradcam.png");
            float[] heat = geometry.toOriginal(r.map(), r.height(), r.width(), false);
            Cli.write(png, f -> Heatmaps.overlay(raw, heat, false, title, f));
            Cli.write(out.resolve(name + "_gradcam.csv"), f -> Heatmaps.writeCsv(r.map(), r.height(), r.width(), f));
            System.out.println(String.join(" | ", title) + ": " + png);
        }
        if (lime) {
            Lime.Result r = Lime.explain(shown, imgs -> predict(tm, imgs, normalize), cls, samples, superpixels, seed);
            List<String> title = new ArrayList<>();
            title.add("LIME (" + r.count() + " superpixels, " + samples + " samples, seed " + seed + ") " + what(tm, cls, predicted, probs));
            if (cut != null) title.add(cut);
            title.add("green: supports " + tm.classes().get(cls) + ", red: speaks against it");
            Path png = out.resolve(name + "_lime.png");
            float[] heat = geometry.toOriginal(r.map(), shown.height(), shown.width(), true);
            Cli.write(png, f -> Heatmaps.overlay(raw, heat, true, title, f));
            Cli.write(out.resolve(name + "_lime.csv"), f -> Heatmaps.writeCsv(r.map(), shown.height(), shown.width(), f));
            float[] segs = new float[r.segments().length];
            for (int i = 0; i < segs.length; i++) segs[i] = r.segments()[i];
            Cli.write(out.resolve(name + "_lime_segments.csv"), f -> Heatmaps.writeCsv(segs, shown.height(), shown.width(), f));
            System.out.println(String.join(" | ", title) + ": " + png);
        }
    }

    /** "for COVID (p = 0.912, predicted)" or "for normal (p = 0.088; predicted: COVID, p = 0.912)". */
    private static String what(TrainedModel tm, int cls, int predicted, float[] probs) {
        String s = String.format(Locale.ROOT, "for %s (p = %.3f", tm.classes().get(cls), probs[cls]);
        return s + (cls == predicted ? ", predicted)" : String.format(Locale.ROOT, "; predicted: %s, p = %.3f)", tm.classes().get(predicted), probs[predicted]));
    }

    private static boolean isFlat(float[] map) {
        for (float v : map) if (v != map[0]) return false;
        return true;
    }

    private static int argmax(float[] p) {
        int k = 0;
        for (int i = 1; i < p.length; i++) if (p[i] > p[k]) k = i;
        return k;
    }

    private int classIndex(TrainedModel tm) {
        int i = tm.classes().indexOf(target);
        if (i >= 0) return i;
        try {
            int k = Integer.parseInt(target);
            if (k < -1 || k >= tm.classes().size()) throw new IllegalArgumentException("--class " + k + ": the model has classes " + tm.classes());
            return k;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--class '" + target + "' is not one of " + tm.classes());
        }
    }

    private static float[][] predict(TrainedModel tm, Image[] imgs, Transform normalize) {
        Rng none = new Rng(0);
        Tensor[] parts = new Tensor[imgs.length];
        for (int i = 0; i < imgs.length; i++) {
            Image n = normalize.apply(imgs[i], none);
            parts[i] = n.toTensor().reshape(1, n.channels(), n.height(), n.width());
        }
        try (var ignored = GradMode.noGrad()) {
            Tensor p = tm.model().forward(Tensor.cat(0, parts).to(Inference.deviceOf(tm.model()))).softmax(1);
            int k = p.shape()[1];
            float[] flat = p.toArray();
            float[][] out = new float[imgs.length][k];
            for (int i = 0; i < imgs.length; i++) System.arraycopy(flat, i * k, out[i], 0, k);
            return out;
        }
    }
}
