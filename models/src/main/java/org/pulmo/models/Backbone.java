package org.pulmo.models;

import org.pulmo.tensor.Tensor;

/**
 * A classification network seen as five stages and a head, the way MA-Net (Zheng et al. 2022, Sec. 3.2: "5 mutex
 * attention Res-Layers followed by the global pooling layer and the fully connected layer"; eq. 1 applies each) reads a
 * backbone: stage 0 is the stem ("Res-Layer0": 7x7 conv with stride 2, BN, ReLU, max-pool) and stages 1..4 are ResNet's four
 * layers, one per resolution level (DenseNet's: dense block and transition three times, then dense block 4 with the
 * final norm and ReLU, so its last two stages share 7 x 7; where MA-Net's blocks go on DenseNet-169 the paper does not
 * say: docs/FIDELITY.md); {@link #head} turns the last stage's feature map into logits (global average pool and
 * the classifier). {@code forward(x)} of the implementing module equals {@code head(stage(4, ... stage(0, x)))}.
 *
 * <p>Shapes at 224 x 224 input: ResNet-50 [N, 64, 56, 56], [N, 256, 56, 56], [N, 512, 28, 28],
 * [N, 1024, 14, 14], [N, 2048, 7, 7]; DenseNet-169 [N, 64, 56, 56], [N, 128, 28, 28], [N, 256, 14, 14],
 * [N, 640, 7, 7], [N, 1664, 7, 7].
 */
public interface Backbone {
    /** Number of stages: 5 (stem + four levels). */
    default int stageCount() { return 5; }

    /** Channels of each stage's output, stem first. */
    int[] stageChannels();

    /** Applies stage i (0 = stem) to the previous stage's output. */
    Tensor stage(int i, Tensor x);

    /** [N, C, h, w] last feature map -> [N, numClasses] logits. */
    Tensor head(Tensor features);

    /** Width of the logits. */
    int numClasses();
}
