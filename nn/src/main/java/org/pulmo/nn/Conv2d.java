package org.pulmo.nn;

import org.pulmo.backend.Conv2dParams;
import org.pulmo.ops.Convolution;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * 2-D convolution: x [N, inC, H, W] -> [N, outC, outH, outW], weight [outC, inC/groups, k, k] (OIHW, as
 * PyTorch stores it), optional bias [outC]. Weight: Kaiming normal (fan_out, ReLU) as torchvision's ResNet;
 * bias, when present, zero (torchvision's VGG/MobileNet init). Departure: PyTorch's own {@code nn.Conv2d} starts from
 * Kaiming uniform with a = sqrt(5) (weight std 1 / sqrt(3 fan_in)) and a uniform bias; a model ported from PyTorch code
 * that keeps that default starts elsewhere here (docs/FIDELITY.md). The op's page (definition, backward, reference,
 * kernels, tests, benchmarks): {@link Convolution}.
 */
public final class Conv2d extends Module {
    public final int inChannels, outChannels, kernel;
    public final Conv2dParams params;
    public final Tensor weight;
    public final Tensor bias; // null when built without bias

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups, boolean bias, Rng rng) {
        if (inChannels < 1 || outChannels < 1 || kernel < 1 || groups < 1)
            throw new IllegalArgumentException("Conv2d: in " + inChannels + ", out " + outChannels + " channels, kernel " + kernel
                + " and groups " + groups + " must all be at least 1");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new IllegalArgumentException("Conv2d: in (" + inChannels + ") and out (" + outChannels + ") channels must be divisible by groups " + groups);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.params = Conv2dParams.of(stride, padding, dilation, groups);
        this.weight = registerParameter("weight", Init.kaimingNormalFanOut(rng, outChannels, inChannels / groups, kernel, kernel));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(outChannels)) : null;
    }

    /** stride 1, padding 0, no dilation, no groups, no bias. */
    public Conv2d(int inChannels, int outChannels, int kernel, Rng rng) { this(inChannels, outChannels, kernel, 1, 0, 1, 1, false, rng); }

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, boolean bias, Rng rng) {
        this(inChannels, outChannels, kernel, stride, padding, 1, 1, bias, rng);
    }

    @Override public Tensor forward(Tensor x) {
        if (x.dim() != 4 || x.size(1) != inChannels)
            throw new IllegalArgumentException(this + " got input of shape " + java.util.Arrays.toString(x.shape())
                + "; it takes [N, " + inChannels + ", H, W]" + (x.dim() == 4 && x.size(3) == inChannels ? " (channels first: this looks channels-last)" : ""));
        return Convolution.conv2d(x, weight, bias, params);
    }

    @Override protected String extraRepr() {
        StringBuilder sb = new StringBuilder().append(inChannels).append(", ").append(outChannels)
            .append(", kernel_size=").append(kernel).append(", stride=").append(params.strideH());
        if (params.padH() != 0) sb.append(", padding=").append(params.padH());
        if (params.dilationH() != 1) sb.append(", dilation=").append(params.dilationH());
        if (params.groups() != 1) sb.append(", groups=").append(params.groups());
        if (bias == null) sb.append(", bias=false");
        return sb.toString();
    }
}
