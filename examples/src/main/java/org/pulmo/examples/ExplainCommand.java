package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.Image;
import org.pulmo.data.ImageDecoder;
import org.pulmo.data.Transform;
import org.pulmo.data.Transforms;
import org.pulmo.explain.GradCam;
import org.pulmo.explain.Heatmaps;
import org.pulmo.explain.Lime;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;
import org.pulmo.train.Predictions;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pulmo explain -c C image}: Grad-CAM (MA-Net paper) and LIME (DPN-SENet paper) for one image. Writes
 * {@code <name>_input.png}, {@code <name>_gradcam.png} and {@code _gradcam.csv} (the map at the layer's
 * resolution), {@code <name>_lime.png}, {@code _lime.csv} (per pixel) and {@code _lime_segments.csv}.
 */
@Command(name = "explain", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Grad-CAM and LIME heatmaps for one image, as PNG overlays and raw maps (CSV).")
public final class ExplainCommand implements Callable<Integer> {
    @Option(names = {"-c", "--checkpoint"}, required = true, description = "A checkpoint written by 'pulmo train'.") Path checkpoint;
    @Parameters(index = "0", description = "The image, or 'demo:N' for demo image N.") String input;
    @Option(names = "--method", defaultValue = "both", description = "gradcam, lime or both (default: ${DEFAULT-VALUE}).") String method;
    @Option(names = "--layer", description = "Grad-CAM target layer: stage0 (stem) .. stage4 (last stage), for DPN also conv5_bn_ac (default: the last; 'list' prints the choices).") String layer;
    @Option(names = "--class", defaultValue = "-1", description = "Class to explain, by index or name (default: the predicted class).") String target;
    @Option(names = "--samples", defaultValue = "500", description = "LIME perturbed samples (default: ${DEFAULT-VALUE}).") int samples;
    @Option(names = "--superpixels", defaultValue = "40", description = "LIME superpixels, about (default: ${DEFAULT-VALUE}).") int superpixels;
    @Option(names = "--seed", defaultValue = "0", description = "LIME sampling seed (default: ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--device", defaultValue = "auto", description = "auto (a usable GPU, else the CPU), cpu or cuda[:N] (default: ${DEFAULT-VALUE}).") String device;
    @Option(names = {"-o", "--out"}, defaultValue = "runs/explain", description = "Output folder (default: ${DEFAULT-VALUE}).") Path out;

    @Override public Integer call() throws Exception {
        TrainedModel tm = TrainedModel.load(checkpoint, Cli.device(device));
        if ("list".equals(layer)) { System.out.println(String.join("\n", GradCam.layers(tm.model()))); return 0; }
        boolean cam = method.equals("both") || method.equals("gradcam"), lime = method.equals("both") || method.equals("lime");
        if (!cam && !lime) throw new IllegalArgumentException("--method must be gradcam, lime or both, not '" + method + "'");
        String name;
        Image raw;
        if (input.startsWith("demo:")) {
            int idx = Integer.parseInt(input.substring(5));
            raw = new org.pulmo.data.DemoChestDataset(Math.max(idx + 1, 4), tm.imageSize(), 3003).image(idx);
            name = "demo" + idx;
        } else {
            Path p = Path.of(input);
            if (!Files.exists(p)) throw new IllegalArgumentException("no such image: " + p);
            raw = ImageDecoder.decode(p);
            String f = p.getFileName().toString();
            name = f.contains(".") ? f.substring(0, f.lastIndexOf('.')) : f;
        }
        Rng none = new Rng(0);
        Image shown = tm.augmentation().eval(tm.imageSize(), false).apply(raw, none);   // what the model sees, before normalising
        Transform normalize = Transforms.imagenetNormalize();
        Files.createDirectories(out);
        shown.writePng(out.resolve(name + "_input.png"));
        int cls = classIndex(tm);
        Tensor x = normalize.apply(shown, none).toTensor().reshape(1, shown.channels(), shown.height(), shown.width())
            .to(Predictions.deviceOf(tm.model()));
        if (cam) {
            GradCam.Result r = GradCam.compute(tm.model(), x, layer, cls);
            cls = r.targetClass();
            float[] up = Heatmaps.upsample(r.map(), r.height(), r.width(), shown.height(), shown.width());
            Heatmaps.overlay(shown, up, false, out.resolve(name + "_gradcam.png"));
            Heatmaps.writeCsv(r.map(), r.height(), r.width(), out.resolve(name + "_gradcam.csv"));
            System.out.printf(Locale.ROOT, "Grad-CAM (%s) for class %s (p = %.3f): %s%n", layer != null ? layer : GradCam.defaultLayer(tm.model()),
                tm.classes().get(cls), r.probabilities()[cls], out.resolve(name + "_gradcam.png"));
        }
        if (lime) {
            if (cls < 0) cls = predicted(tm, x);
            Lime.Result r = Lime.explain(shown, imgs -> predict(tm, imgs, normalize), cls, samples, superpixels, seed);
            Heatmaps.overlay(shown, r.map(), true, out.resolve(name + "_lime.png"));
            Heatmaps.writeCsv(r.map(), shown.height(), shown.width(), out.resolve(name + "_lime.csv"));
            float[] segs = new float[r.segments().length];
            for (int i = 0; i < segs.length; i++) segs[i] = r.segments()[i];
            Heatmaps.writeCsv(segs, shown.height(), shown.width(), out.resolve(name + "_lime_segments.csv"));
            System.out.printf(Locale.ROOT, "LIME (%d superpixels, %d samples, seed %d) for class %s: %s%n", r.count(), samples, seed,
                tm.classes().get(cls), out.resolve(name + "_lime.png"));
        }
        return 0;
    }

    private int classIndex(TrainedModel tm) {
        int i = tm.classes().indexOf(target);
        if (i >= 0) return i;
        try {
            int k = Integer.parseInt(target);
            if (k >= tm.classes().size()) throw new IllegalArgumentException("--class " + k + ": the model has classes " + tm.classes());
            return k;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--class '" + target + "' is not one of " + tm.classes());
        }
    }

    private static int predicted(TrainedModel tm, Tensor x) {
        try (var ignored = GradMode.noGrad()) {
            return (int) tm.model().forward(x).argmax(1, false).item();
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
            Tensor p = tm.model().forward(Tensor.cat(0, parts).to(Predictions.deviceOf(tm.model()))).softmax(1);
            int k = p.shape()[1];
            float[] flat = p.toArray();
            float[][] out = new float[imgs.length][k];
            for (int i = 0; i < imgs.length; i++) System.arraycopy(flat, i * k, out[i], 0, k);
            return out;
        }
    }
}
