package org.pulmo.explain;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.pulmo.models.Backbone;
import org.pulmo.models.Dpn;
import org.pulmo.models.InceptionV3;
import org.pulmo.models.MaNet;
import org.pulmo.models.Vgg;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;

/**
 * Grad-CAM (Selvaraju et al., ICCV 2017), as the MA-Net paper shows its attention: for a target class c and a
 * feature map A [1, K, h, w] of a chosen layer,
 * <pre>
 *   alpha_k = mean over (i, j) of d y_c / d A_k(i, j)        (the channel's importance)
 *   L_c     = ReLU( sum_k alpha_k A_k )                       [h, w], then scaled to [0, 1]
 * </pre>
 * where y_c is the class's logit, the score before the softmax (Selvaraju et al., eq. 1), and the scaling divides by the
 * map's maximum (no minimum is subtracted: a cell without positive evidence stays 0). The map is then upsampled to
 * the input size. Layers: for backbones (ResNet, DenseNet, MA-Net's main path) the stage
 * outputs {@code stage0} (stem) .. {@code stage4}; for DPN the same five ({@code stage0} the stem, {@code stage1}
 * .. {@code stage4} the outputs of conv2 .. conv5 as the concatenation [resid, dense] that the next block reads,
 * as {@link Dpn#stages} returns them) plus {@code conv5_bn_ac} (the last stage after its BN-ReLU). The default
 * is the last: {@code stage4}, or {@code conv5_bn_ac} for DPN. VGG: {@code pool1} .. {@code pool5}, each block's
 * output after its max pool ({@code pool5}, the last of {@code features}, by default). Inception-v3:
 * {@link InceptionV3#STAGES}, the stem and the last module of each grid size ({@code Mixed_7c} by default).
 *
 * <p>DPN's blocks pass the two paths on as two tensors, so the concatenation of a stage's output is not part
 * of the model's graph and has no gradient. Here the blocks run one by one on the concatenated tensor instead
 * (a block's {@code forward(Tensor)} splits it back into the two paths), which computes the same logits and
 * makes each stage output a tensor in the graph whose gradient can be kept.
 */
public final class GradCam {
    private GradCam() {}

    /** The map [h, w] (values in [0, 1], at the layer's resolution) and the class it explains. */
    public record Result(float[] map, int height, int width, int targetClass, float[] probabilities) {}

    /** The layer names {@link #compute} accepts for a model. */
    public static List<String> layers(Module model) {
        if (model instanceof Dpn) return List.of("stage0", "stage1", "stage2", "stage3", "stage4", "conv5_bn_ac");
        if (model instanceof InceptionV3) return InceptionV3.STAGES;
        if (model instanceof Vgg vgg) return vgg.stages();
        if (backbone(model) != null) {
            List<String> l = new ArrayList<>();
            for (int i = 0; i < backbone(model).stageCount(); i++) l.add("stage" + i);
            return l;
        }
        return List.of();
    }

    public static String defaultLayer(Module model) {
        List<String> l = layers(model);
        if (l.isEmpty()) throw new IllegalArgumentException("Grad-CAM does not know the stages of " + model.getClass().getSimpleName());
        return l.getLast();
    }

    private static Backbone backbone(Module model) {
        if (model instanceof MaNet m) return (Backbone) m.backbone();
        return model instanceof Backbone b ? b : null;
    }

    /**
     * Grad-CAM of {@code x} [1, 3, H, W] for class {@code target} (-1: the predicted class) at {@code layer}
     * (null: the default). The model runs in evaluation mode; afterwards each of its modules is back in its own mode and
     * each parameter holds the gradient it held before (the backward of the class score goes through the parameters too).
     * One thread at a time per model: the modes and gradients are the model's own.
     */
    public static Result compute(Module model, Tensor x, String layer, int target) {
        if (layer == null) layer = defaultLayer(model);
        if (!layers(model).contains(layer))
            throw new IllegalArgumentException("unknown Grad-CAM layer '" + layer + "' for " + model.getClass().getSimpleName() + "; choose one of " + layers(model));
        if (x.dim() != 4 || x.shape()[0] != 1)
            throw new IllegalArgumentException("Grad-CAM explains one image: the input must be [1, C, H, W], not " + java.util.Arrays.toString(x.shape()));
        Map<Module, Boolean> modes = new java.util.LinkedHashMap<>();   // parents before their children: train(b) sets a whole subtree
        for (Module m : model.namedModules().values()) modes.put(m, m.isTraining());
        Map<Tensor, Tensor> grads = new java.util.IdentityHashMap<>();
        for (Tensor p : model.parameters()) grads.put(p, p.grad());
        model.eval();
        model.zeroGrad();
        try {
            return atLayer(model, x, layer, target);
        } finally {
            modes.forEach((m, training) -> m.train(training));
            grads.forEach(Tensor::setGrad);
        }
    }

    private static Result atLayer(Module model, Tensor x, String layer, int target) {
        Tensor[] kept = new Tensor[1];
        java.util.function.UnaryOperator<Tensor> keep = t -> kept[0] = t.retainGrad();
        Tensor logits;
        if (model instanceof Dpn dpn) {
            Map<String, Module> m = model.namedModules();
            Tensor h = m.get("features.conv1_pool").forward(m.get("features.conv1_1").forward(x)); // stem
            if (layer.equals("stage0")) h = keep.apply(h);
            for (int s = 0; s < 4; s++) {
                for (int b = 1; b <= dpn.config.kSec()[s]; b++) h = m.get("features.conv" + (s + 2) + "_" + b).forward(h); // [N, resid + dense, h, w]
                if (layer.equals("stage" + (s + 1))) h = keep.apply(h);
            }
            h = m.get("features.conv5_bn_ac").forward(h);                                  // [1, 2688, h, w] for DPN-92
            if (layer.equals("conv5_bn_ac")) h = keep.apply(h);
            int n = h.shape()[0], c = h.shape()[1];
            logits = dpn.classifier.forward(h.globalAvgPool().reshape(n, c, 1, 1)).reshape(n, dpn.numClasses);
        } else if (model instanceof InceptionV3 inception) {
            logits = inception.forward(x, layer, keep);
        } else if (model instanceof Vgg vgg) {
            logits = vgg.forward(x, layer, keep);
        } else {
            Backbone b = backbone(model);
            int stage = Integer.parseInt(layer.substring("stage".length()));
            Tensor h = x;
            for (int i = 0; i < b.stageCount(); i++) {
                h = b.stage(i, h);
                if (i == stage) h = keep.apply(h);
            }
            logits = b.head(h);
        }
        Tensor a = kept[0];
        float[] probs = logits.softmax(1).toArray();
        if (target < -1 || target >= probs.length)
            throw new IllegalArgumentException("Grad-CAM target class " + target + " is outside the model's " + probs.length + " classes");
        int c = target;
        if (c < 0) { c = 0; for (int k = 1; k < probs.length; k++) if (probs[k] > probs[c]) c = k; }
        logits.narrow(1, c, 1).sum().backward();                                         // d y_c / d everything
        Tensor grad = a.grad();
        int k = a.shape()[1], h = a.shape()[2], w = a.shape()[3];
        float[] act = a.detach().contiguous().toArray(), g = grad == null ? new float[act.length] : grad.contiguous().toArray();
        float[] map = new float[h * w];
        for (int ch = 0; ch < k; ch++) {
            double alpha = 0;
            for (int p = 0; p < h * w; p++) alpha += g[ch * h * w + p];
            alpha /= h * w;                                                               // alpha_k: global average of the gradient
            for (int p = 0; p < h * w; p++) map[p] += (float) (alpha * act[ch * h * w + p]);
        }
        float max = 0;
        for (int p = 0; p < map.length; p++) { map[p] = Math.max(map[p], 0); max = Math.max(max, map[p]); } // ReLU: only evidence for c
        if (max > 0) for (int p = 0; p < map.length; p++) map[p] /= max;
        return new Result(map, h, w, c, probs);
    }
}
