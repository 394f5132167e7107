package org.pulmo.cuda;

import static org.pulmo.cuda.CudaBackend.ptr;

import org.pulmo.backend.Backend;
import org.pulmo.tensor.Tensor;

/**
 * The launches of se_fab.cu: the squeeze-and-excitation squeeze and channel scale (page {@link org.pulmo.ops.SeScale}),
 * and the FAB squeeze (eq. 7's two poolings in one read) and fusion (eq. 10-11, page {@link org.pulmo.ops.FabFuse}),
 * forward and backward. {@link CudaBackend}'s seSqueeze, fabSqueeze and fabSqueezeBackward, and its Backend methods
 * seScaleForward, seScaleBackward, fabFuseForward and fabFuseBackward run these.
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
        rt.launch("se_squeeze", s[0] * s[1], 1, 1, CudaBackend.rowThreads(s[2] * s[3]), 0, s[2] * s[3], ptr(be.dense(x)), ptr(out));
        return out;
    }

    /** SE scale: y = u * s[n, c]. */
    Tensor seScaleForward(Tensor u, Tensor scale) {
        int[] s = u.shape();
        Tensor y = be.empty(s);
        long n = y.numel();
        rt.launchElements("se_scale_forward", n, n, s[2] * s[3], ptr(be.dense(u)), ptr(be.dense(scale)), ptr(y));
        return y;
    }

    /** du and ds [N, C] of the SE scale. */
    Backend.SeScaleGrads seScaleBackward(Tensor u, Tensor scale, Tensor dy) {
        int[] s = u.shape();
        Tensor du = be.empty(s), ds = be.empty(s[0], s[1]);
        rt.launch("se_scale_backward", s[0] * s[1], 1, 1, CudaBackend.rowThreads(s[2] * s[3]), 0, s[2] * s[3], ptr(be.dense(u)), ptr(be.dense(scale)), ptr(be.dense(dy)), ptr(du), ptr(ds));
        return new Backend.SeScaleGrads(du, ds);
    }

    /** FAB squeeze (eq. 7's two poolings in one read): avg, max and argmax [N, C]. */
    CudaBackend.FabSqueezeOut fabSqueeze(Tensor u) {
        int[] s = u.shape();
        Tensor avg = be.empty(s[0], s[1]), mx = be.empty(s[0], s[1]), arg = be.empty(s[0], s[1]);
        rt.launch("fab_squeeze", s[0] * s[1], 1, 1, CudaBackend.rowThreads(s[2] * s[3]), 0, s[2] * s[3], ptr(be.dense(u)), ptr(avg), ptr(mx), ptr(arg));
        return new CudaBackend.FabSqueezeOut(avg, mx, arg);
    }

    Tensor fabSqueezeBackward(int[] uShape, Tensor dAvg, Tensor dMax, Tensor arg) {
        Tensor du = be.empty(uShape);
        long n = du.numel();
        rt.launchElements("fab_squeeze_backward", n, n, uShape[2] * uShape[3], ptr(be.dense(dAvg)), ptr(be.dense(dMax)), ptr(be.dense(arg)), ptr(du));
        return du;
    }

    /** FAB fusion (eq. 10-11): F_fm = a F_am + (1 - a) F_rem with a = e^M / (e^M + e^N) per (n, c). */
    Tensor fabFuseForward(Tensor fAm, Tensor fRem, Tensor m, Tensor n) {
        int[] s = fAm.shape();
        Tensor y = be.empty(s);
        long len = y.numel();
        rt.launchElements("fab_fuse_forward", len, len, s[2] * s[3], ptr(be.dense(fAm)), ptr(be.dense(fRem)), ptr(be.dense(m)), ptr(be.dense(n)), ptr(y));
        return y;
    }

    /** dF_am, dF_rem, dM and dN of the FAB fusion. */
    Backend.FabGrads fabFuseBackward(Tensor fAm, Tensor fRem, Tensor m, Tensor n, Tensor dFFm) {
        int[] s = fAm.shape();
        Tensor dFAm = be.empty(s), dFRem = be.empty(s), dM = be.empty(s[0], s[1]), dN = be.empty(s[0], s[1]);
        rt.launch("fab_fuse_backward", s[0] * s[1], 1, 1, CudaBackend.rowThreads(s[2] * s[3]), 0, s[2] * s[3], ptr(be.dense(fAm)), ptr(be.dense(fRem)), ptr(be.dense(m)),
            ptr(be.dense(n)), ptr(be.dense(dFFm)), ptr(dFAm), ptr(dFRem), ptr(dM), ptr(dN));
        return new Backend.FabGrads(dFAm, dFRem, dM, dN);
    }
}
