package org.pulmo.cuda;

import static org.pulmo.cuda.CudaBackend.ptr;

import org.pulmo.tensor.Tensor;

/**
 * The launches of se_fab.cu: the squeeze-and-excitation squeeze and channel scale, and the FAB squeeze
 * (eq. 7's two poolings in one read) and fusion (eq. 10-11), forward and backward. {@link CudaBackend}'s
 * public seSqueeze, seScale, fabSqueeze, ... and Backend's channelScale and fabFuse run these.
 */
final class SeFabKernels {
    private final CudaBackend be;
    private final CudaRuntime rt;

    SeFabKernels(CudaBackend be) {
        this.be = be;
        this.rt = be.runtime();
    }

    /** SE squeeze: [N, C, H, W] -> channel means [N, C]. */
    Tensor seSqueeze(Tensor x) {
        int[] s = x.shape();
        Tensor out = be.empty(s[0], s[1]);
        rt.launch("se_squeeze", s[0] * s[1], 1, 1, 256, 0, s[2] * s[3], ptr(be.dense(x)), ptr(out));
        return out;
    }

    /** SE scale: y = x * s[n, c]. */
    Tensor seScale(Tensor x, Tensor scale) {
        int[] s = x.shape();
        Tensor y = be.empty(s);
        long n = y.numel();
        rt.launchElements("se_scale_forward", n, n, s[2] * s[3], ptr(be.dense(x)), ptr(be.dense(scale)), ptr(y));
        return y;
    }

    /** {dx, dscale [N, C]}. */
    Tensor[] seScaleBackward(Tensor x, Tensor scale, Tensor dy) {
        int[] s = x.shape();
        Tensor dx = be.empty(s), ds = be.empty(s[0], s[1]);
        rt.launch("se_scale_backward", s[0] * s[1], 1, 1, 256, 0, s[2] * s[3], ptr(be.dense(x)), ptr(be.dense(scale)), ptr(be.dense(dy)), ptr(dx), ptr(ds));
        return new Tensor[] {dx, ds};
    }

    /** FAB squeeze (eq. 7's two poolings in one read): {avg [N, C], max [N, C], argmax [N, C]}. */
    Tensor[] fabSqueeze(Tensor u) {
        int[] s = u.shape();
        Tensor avg = be.empty(s[0], s[1]), mx = be.empty(s[0], s[1]), arg = be.empty(s[0], s[1]);
        rt.launch("fab_squeeze", s[0] * s[1], 1, 1, 256, 0, s[2] * s[3], ptr(be.dense(u)), ptr(avg), ptr(mx), ptr(arg));
        return new Tensor[] {avg, mx, arg};
    }

    Tensor fabSqueezeBackward(int[] uShape, Tensor dAvg, Tensor dMax, Tensor arg) {
        Tensor du = be.empty(uShape);
        long n = du.numel();
        rt.launchElements("fab_squeeze_backward", n, n, uShape[2] * uShape[3], ptr(be.dense(dAvg)), ptr(be.dense(dMax)), ptr(be.dense(arg)), ptr(du));
        return du;
    }

    /** FAB fusion (eq. 10-11): y = a x1 + (1 - a) x2 with a = e^z1 / (e^z1 + e^z2) per (n, c). */
    Tensor fabFuse(Tensor x1, Tensor x2, Tensor z1, Tensor z2) {
        int[] s = x1.shape();
        Tensor y = be.empty(s);
        long n = y.numel();
        rt.launchElements("fab_fuse_forward", n, n, s[2] * s[3], ptr(be.dense(x1)), ptr(be.dense(x2)), ptr(be.dense(z1)), ptr(be.dense(z2)), ptr(y));
        return y;
    }

    /** {dx1, dx2, dz1, dz2}. */
    Tensor[] fabFuseBackward(Tensor x1, Tensor x2, Tensor z1, Tensor z2, Tensor dy) {
        int[] s = x1.shape();
        Tensor dx1 = be.empty(s), dx2 = be.empty(s), dz1 = be.empty(s[0], s[1]), dz2 = be.empty(s[0], s[1]);
        rt.launch("fab_fuse_backward", s[0] * s[1], 1, 1, 256, 0, s[2] * s[3], ptr(be.dense(x1)), ptr(be.dense(x2)), ptr(be.dense(z1)),
            ptr(be.dense(z2)), ptr(be.dense(dy)), ptr(dx1), ptr(dx2), ptr(dz1), ptr(dz2));
        return new Tensor[] {dx1, dx2, dz1, dz2};
    }
}
