package org.pulmo.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.pulmo.io.AtomicFiles;
import org.pulmo.io.Safetensors;
import org.pulmo.models.MaNet;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;

/**
 * PyTorch weights in and out. Pulmo's models use the parameter names of torchvision (ResNet, DenseNet, VGG,
 * Inception-v3) and timm (DPN), so a state dict that PyTorch saved as safetensors
 * ({@code safetensors.torch.save_file(model.state_dict(), "resnet50.safetensors")}) loads by name.
 *
 * <p>{@link #load}: every tensor of the model found in the file with the same shape is copied; the classifier
 * ({@code fc}, {@code classifier}, {@code classifier.6}, {@code AuxLogits.fc}) may have another class count, and
 * then keeps the model's fresh initialisation. Any other shape difference, or a file that shares no tensor with
 * the model (another architecture), is refused with one line and loads nothing. Tensors the file lacks (e.g.
 * DPN-92-SE's SE layers in a plain DPN-92 file) keep their initialisation and are listed; tensors the model lacks
 * are listed and ignored. BatchNorm's {@code running_mean}, {@code running_var} and {@code num_batches_tracked}
 * (I64 in PyTorch's files; read as a float count) are loaded like any tensor. MA-Net loads the file into its
 * backbone ({@code backbone.*}; the file's names have no prefix) and keeps its own FAB initialisation (MAB has no
 * parameters), except from a MA-Net checkpoint of Pulmo's, whose FAB it loads too; a plain ResNet given a MA-Net
 * checkpoint loads its backbone.
 *
 * <p>{@link #export}: the model's state dict as PyTorch expects it: float32, {@code num_batches_tracked} as I64;
 * for MA-Net the backbone alone, {@code backbone.} stripped, a plain torchvision model (what MA-Net's inference
 * runs).
 */
public final class PretrainedWeights {
    private PretrainedWeights() {}

    /** Module names of the classification heads, which may differ in class count (dimension 0). */
    static final Set<String> HEADS = Set.of("fc", "classifier", "classifier.6", "AuxLogits.fc");

    private static final String COUNTER = "num_batches_tracked";

    /** The file does not fit the model; nothing was loaded. */
    public static final class MismatchException extends IllegalArgumentException {
        public MismatchException(String message) { super(message); }
    }

    /**
     * What a load did, by the model's tensor names ({@code backbone.} included for MA-Net). {@code reinitialised}:
     * classifier tensors whose class count differs; {@code missing}: model tensors the file lacks (initialised by
     * the model); {@code unexpected}: file tensors the model lacks (ignored); {@code ownInit}: for MA-Net, the
     * tensors outside the backbone.
     */
    public record Report(String file, String model, List<String> loaded, List<String> reinitialised, String classNote,
                         List<String> missing, List<String> unexpected, List<String> ownInit) {

        /** A screen at most: counts per line, tensors grouped by their first name part, a few names each. */
        public String summary() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "Initialised %s from %s:%n", model, file));
            line(sb, "loaded", loaded, "", false);
            line(sb, "re-initialised", reinitialised, classNote == null ? "" : " (" + classNote + ")", true);
            line(sb, "missing", missing, missing.isEmpty() ? "" : " (not in the file: kept as initialised)", true);
            line(sb, "unexpected", unexpected, unexpected.isEmpty() ? "" : " (in the file only: ignored)", true);
            if (!ownInit.isEmpty()) line(sb, "MA-Net's own", ownInit, " (FAB: initialised by MA-Net; MAB has no parameters)", false);
            return sb.toString();
        }

        private static void line(StringBuilder sb, String what, List<String> names, String note, boolean examples) {
            sb.append(String.format(Locale.ROOT, "  %-15s %5d%s%s%n", what, names.size(), names.isEmpty() ? "" : ": " + groups(names), note));
            if (examples && !names.isEmpty())
                sb.append("                  e.g. ").append(String.join(", ", names.subList(0, Math.min(4, names.size()))))
                    .append(names.size() > 4 ? ", ..." : "").append(System.lineSeparator());
        }

        /** "layer1 30, layer2 33, fc 2": counts by the first part of the name (two parts under backbone. and fab.). */
        private static String groups(List<String> names) {
            Map<String, Integer> g = new LinkedHashMap<>();
            for (String n : names) {
                String[] p = n.split("\\.");
                String key = p.length > 2 && (p[0].equals("backbone") || p[0].equals("features") || p[0].equals("fab")) ? p[0] + "." + p[1] : p[0];
                g.merge(key, 1, Integer::sum);
            }
            List<String> parts = new ArrayList<>();
            for (var e : g.entrySet()) parts.add(e.getKey() + " " + e.getValue());
            if (parts.size() > 8) {
                int rest = 0;
                for (int i = 7; i < parts.size(); i++) rest += g.get(parts.get(i).substring(0, parts.get(i).lastIndexOf(' ')));
                parts = new ArrayList<>(parts.subList(0, 7));
                parts.add("+" + rest + " in " + (g.size() - 7) + " more groups");
            }
            return String.join(", ", parts);
        }
    }

    /**
     * Loads a PyTorch state dict ({@code file}, safetensors) into {@code model}, named {@code name} in messages,
     * on the CPU (before {@code Module.to}). Nothing is changed when it throws.
     *
     * @throws MismatchException a shape differs outside the classifier, or no tensor of the file fits the model
     */
    public static Report load(Path file, Module model, String name) throws IOException {
        var read = Safetensors.read(file);
        Map<String, Tensor> tensors = read.tensors();
        if (org.pulmo.io.Checkpoint.FORMAT.equals(read.metadata().get("format")))   // Pulmo's own checkpoint: its model's tensors
            tensors = org.pulmo.io.Checkpoint.modelState(tensors);
        // MA-Net takes a backbone's weights (a ResNet-50 state dict), or the whole model from a MA-Net checkpoint (FAB
        // included: "fab." tensors); any other model takes a MA-Net checkpoint's backbone
        boolean wholeMaNet = model instanceof MaNet && tensors.keySet().stream().anyMatch(k -> k.startsWith("fab.") || k.startsWith("module.fab."));
        String prefix = model instanceof MaNet && !wholeMaNet ? "backbone." : "";
        Module target = model instanceof MaNet m && !wholeMaNet ? m.backbone() : model;
        Map<String, Tensor> own = target.stateDict();

        Map<String, Tensor> file2 = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) file2.put(strip(e.getKey(), wholeMaNet ? "" : "backbone."), e.getValue());

        List<String> loaded = new ArrayList<>(), reinit = new ArrayList<>(), missing = new ArrayList<>(), unexpected = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        Map<String, Tensor> take = new LinkedHashMap<>();
        String classNote = null;
        for (var e : own.entrySet()) {
            String k = e.getKey();
            Tensor src = file2.get(k);
            int[] want = e.getValue().shape();
            if (src == null) missing.add(prefix + k);
            else if (Arrays.equals(src.shape(), want)) { take.put(k, src); loaded.add(prefix + k); }
            else if (isHead(k) && sameButFirst(src.shape(), want)) {
                reinit.add(prefix + k);
                classNote = "the file has " + src.shape()[0] + " classes, this model " + want[0] + ": the classifier starts afresh";
            } else wrong.add(prefix + k + ": model " + Arrays.toString(want) + ", file " + Arrays.toString(src.shape()));
        }
        for (String k : file2.keySet()) if (!own.containsKey(k)) unexpected.add(k);

        if (!wrong.isEmpty())
            throw new MismatchException(file + " does not fit " + name + ": " + wrong.size() + " tensor" + (wrong.size() == 1 ? "" : "s")
                + " outside the classifier have other shapes (" + String.join("; ", wrong.subList(0, Math.min(3, wrong.size())))
                + (wrong.size() > 3 ? "; ..." : "") + "); is it another architecture or depth? Nothing was loaded");
        long matched = loaded.stream().filter(k -> !k.endsWith(COUNTER)).count();
        if (matched == 0)
            throw new MismatchException(file + " holds no tensor of " + name + " (" + tensors.size() + " tensors, e.g. "
                + String.join(", ", tensors.keySet().stream().limit(3).toList()) + "; " + name + " has e.g. "
                + String.join(", ", own.keySet().stream().limit(2).toList()) + "): it is weights of another architecture. Nothing was loaded");

        for (var e : take.entrySet()) {   // a diverged run's weights would train on as NaN, and the loss would be blamed
            String nonFinite = org.pulmo.io.Safetensors.firstNonFinite(prefix + e.getKey(), e.getValue().toArray());
            if (nonFinite != null) throw new org.pulmo.io.SafetensorsException(file.toString(), nonFinite + "; nothing was loaded");
        }
        target.loadStateDict(take, false);
        List<String> ownInit = new ArrayList<>();
        if (!prefix.isEmpty()) for (String k : model.stateDict().keySet()) if (!k.startsWith(prefix)) ownInit.add(k);
        return new Report(file.getFileName().toString(), name, loaded, reinit, classNote, missing, unexpected, ownInit);
    }

    /**
     * A file saved from MA-Net's backbone with its prefix (a MA-Net checkpoint given to a plain ResNet), or from
     * DataParallel ("module."), loads as a plain one.
     */
    private static String strip(String k, String prefix) {
        if (k.startsWith("module.")) k = k.substring("module.".length());
        if (!prefix.isEmpty() && k.startsWith(prefix)) k = k.substring(prefix.length());
        return k;
    }

    static boolean isHead(String tensor) {
        if (tensor.startsWith("backbone.")) tensor = tensor.substring("backbone.".length());   // a whole MA-Net's classifier
        int dot = tensor.lastIndexOf('.');
        return dot > 0 && HEADS.contains(tensor.substring(0, dot));
    }

    private static boolean sameButFirst(int[] a, int[] b) {
        return a.length == b.length && a.length > 0 && Arrays.equals(a, 1, a.length, b, 1, b.length);
    }

    /** The state dict PyTorch loads: for MA-Net the backbone with {@code backbone.} stripped; live tensors, not copies. */
    public static Map<String, Tensor> exportable(Module model) {
        return (model instanceof MaNet m ? m.backbone() : model).stateDict();
    }

    /**
     * Writes {@link #exportable} to {@code file} (atomically): float32, {@code num_batches_tracked} as I64, metadata
     * {@code format = pt} as {@code safetensors.torch.save_file} writes (plus Pulmo's per-tensor digests, which
     * PyTorch ignores).
     */
    public static int export(Module model, Path file) throws IOException {
        Map<String, Tensor> sd = exportable(model);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        AtomicFiles.write(file, Safetensors.encode(sd, meta, k -> k.endsWith(COUNTER)));
        return sd.size();
    }

    /**
     * The Python that builds the PyTorch model of this name with {@code classes} outputs, computing what Pulmo's
     * computes, or null when there is none. timm's DPNs end {@code conv5_bn_ac} in ELU unless told
     * {@code fc_act_layer="relu"} (Pulmo's, as the original DPN; older timm releases call the option
     * {@code fc_act}); with timm's default the state dict loads all the same, strictly, but the logits differ.
     * DPN-92-SE has no published counterpart: {@code DPN92} of Pulmo's {@code scripts/torch_roundtrip.py} is one.
     */
    public static String pytorchModel(String name, int classes) {
        String n = name.startsWith("manet-") ? name.substring("manet-".length()) : name;
        if (n.matches("resnet\\d+|densenet\\d+|vgg16")) return "torchvision.models." + n + "(num_classes=" + classes + ")";
        if (n.equals("vgg16-bn")) return "torchvision.models.vgg16_bn(num_classes=" + classes + ")";
        if (n.equals("inception-v3"))
            return "torchvision.models.inception_v3(num_classes=" + classes + ", aux_logits=True, init_weights=False)";
        if (n.matches("dpn\\d+")) return "timm.create_model(\"" + n + "\", num_classes=" + classes + ", fc_act_layer=\"relu\")";
        if (n.equals("dpn92-se")) return "torch_roundtrip.DPN92(num_classes=" + classes + ", se=True)";
        return null; // dpn92-se-resid: SE on the residual part only, no PyTorch definition
    }
}
