package org.pulmo.cuda;

import static org.pulmo.cuda.CudaBackend.ptr;

import org.pulmo.backend.Backend;
import org.pulmo.tensor.Tensor;

/**
 * The launches of mab.cu, the mutex attention block (MA-Net eq. 3-5; the op's page is {@link org.pulmo.ops.Mab},
 * the kernel file has the traffic and launch shapes): the naive three-launch version and the fused forward and
 * backward, with the rule for when the fused kernels cache a plane in shared memory. {@link CudaBackend#mabForward}
 * and {@link CudaBackend#mabBackward} (Backend's contract) run these.
 */
final class MabKernels {
    private final CudaBackend be;
    private final CudaRuntime rt;

    MabKernels(CudaBackend be) {
        this.be = be;
        this.rt = be.runtime();
    }

    /** Shared memory a block may use without opting in (dynamic + static), on every CUDA device. */
    static final int DEFAULT_SHARED_LIMIT = 48 * 1024;
    /** mab.cu's static shared arrays: the forward's sm[32], ss[32] and the backward's ss[32] floats. */
    static final int MAB_FORWARD_STATIC_SHARED = 64 * Float.BYTES, MAB_BACKWARD_STATIC_SHARED = 32 * Float.BYTES;

    /** Whether the fused MAB kernels cache their planes in shared memory at this plane size (else they re-read global memory). */
    static boolean mabCaches(int hw, boolean backward) {
        return (backward ? 3 : 2) * hw * Float.BYTES + (backward ? MAB_BACKWARD_STATIC_SHARED : MAB_FORWARD_STATIC_SHARED) <= DEFAULT_SHARED_LIMIT;
    }

    /** MAB forward (mab.cu): F_am and lse [N, C], what the backward needs, from F_rei and F_rem [N, C, H, W]. */
    Backend.MabOut forward(Tensor fRei, Tensor fRem, CudaBackend.MabVersion version) {
        int[] s = fRei.shape();
        int hw = s[2] * s[3], planes = s[0] * s[1];
        Tensor ad = be.dense(fRei), bd = be.dense(fRem), y = be.empty(s), lse = be.empty(s[0], s[1]);
        long n = y.numel();
        if (version == CudaBackend.MabVersion.NAIVE) {
            Tensor d = be.empty(s);
            rt.launchElements("mab_naive_sqdiff", n, n, ptr(ad), ptr(bd), ptr(d));
            rt.launch("mab_naive_softmax", planes, 1, 1, 256, 0, hw, ptr(d), ptr(lse));
            rt.launchElements("mab_naive_mul", n, n, ptr(d), ptr(bd), ptr(y));
        } else {
            int smem = 2 * hw * Float.BYTES;
            boolean cache = mabCaches(hw, false);
            rt.launch("mab_fused_forward", planes, 1, 1, hw >= 2048 ? 512 : 256, cache ? smem : 0, hw, cache ? 1 : 0, ptr(ad), ptr(bd), ptr(y), ptr(lse));
        }
        return new Backend.MabOut(y, lse);
    }

    /** MAB fused backward: dF_rei and dF_rem from F_rei, F_rem, dF_am and the forward's lse (the kernel's argument order). */
    Backend.MabGrads backward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        int[] s = fRei.shape();
        int hw = s[2] * s[3];
        Tensor da = be.empty(s), db = be.empty(s);
        int smem = 3 * hw * Float.BYTES;
        boolean cache = mabCaches(hw, true);
        rt.launch("mab_fused_backward", s[0] * s[1], 1, 1, hw >= 2048 ? 512 : 256, cache ? smem : 0, hw, cache ? 1 : 0,
            ptr(be.dense(fRei)), ptr(be.dense(fRem)), ptr(be.dense(dFAm)), ptr(be.dense(lse)), ptr(da), ptr(db));
        return new Backend.MabGrads(da, db);
    }

    /** dF_rem = dF_am (.) P with MAB's map P constant in backward (mab.cu's mab_constant_map_backward); dF_rei is zero. */
    Tensor constantMapBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        int[] s = fRei.shape();
        Tensor db = be.empty(s);
        long n = db.numel();
        rt.launchElements("mab_constant_map_backward", n, n, s[2] * s[3],
            ptr(be.dense(fRei)), ptr(be.dense(fRem)), ptr(be.dense(dFAm)), ptr(be.dense(lse)), ptr(db));
        return db;
    }
}
