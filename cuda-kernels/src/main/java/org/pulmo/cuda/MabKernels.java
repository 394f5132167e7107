package org.pulmo.cuda;

import static org.pulmo.cuda.CudaBackend.ptr;

import org.pulmo.backend.Backend;
import org.pulmo.tensor.Tensor;

/**
 * The launches of mab.cu, the mutex attention block (MA-Net eq. 3-5; the op's page is {@link org.pulmo.ops.Mab},
 * the kernel file has the traffic and launch shapes): the naive three-launch version and the fused forward and
 * backward in two launch shapes: a block per plane (any size; the plane cached in shared memory when it fits) and a
 * warp per plane (planes of up to 1024 values, held in registers). {@link CudaBackend#mabForward} and
 * {@link CudaBackend#mabBackward} (Backend's contract) run the fused version, a warp per plane wherever the plane fits.
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

    /** Planes per block of the warp kernels: a warp each, 128 threads (K = 32 takes 146 registers a thread: 3 blocks an SM). */
    static final int WARP_PLANES_PER_BLOCK = 4;

    /**
     * The register share K of the warp kernels for planes of hw values (each lane holds K of them: mab_warp_*_K), or 0
     * where a plane does not fit one warp's registers (more than 1024 values).
     */
    static int warpShare(int hw) {
        return hw <= 64 ? 2 : hw <= 256 ? 8 : hw <= 1024 ? 32 : 0;
    }

    /** The launch shape a version takes at this plane size: FUSED is WARP where the plane fits, else BLOCK. */
    static CudaBackend.MabVersion shape(CudaBackend.MabVersion version, int hw) {
        if (version == CudaBackend.MabVersion.FUSED) return warpShare(hw) > 0 ? CudaBackend.MabVersion.WARP : CudaBackend.MabVersion.BLOCK;
        if (version == CudaBackend.MabVersion.WARP && warpShare(hw) == 0)
            throw new IllegalArgumentException("the warp-per-plane MAB kernels take planes of at most 1024 values, got " + hw);
        return version;
    }

    private static int warpBlocks(int planes) { return (planes + WARP_PLANES_PER_BLOCK - 1) / WARP_PLANES_PER_BLOCK; }

    /** MAB forward (mab.cu): F_am and lse [N, C], what the backward needs, from F_rei and F_rem [N, C, H, W]. */
    Backend.MabOut forward(Tensor fRei, Tensor fRem, CudaBackend.MabVersion version) {
        int[] s = fRei.shape();
        int hw = s[2] * s[3], planes = s[0] * s[1];
        Tensor ad = be.dense(fRei), bd = be.dense(fRem), y = be.empty(s), lse = be.empty(s[0], s[1]);
        long n = y.numel();
        switch (shape(version, hw)) {
            case NAIVE -> {
                Tensor d = be.empty(s);
                rt.launchElements("mab_naive_sqdiff", n, n, ptr(ad), ptr(bd), ptr(d));
                rt.launch("mab_naive_softmax", planes, 1, 1, 256, 0, hw, ptr(d), ptr(lse));
                rt.launchElements("mab_naive_mul", n, n, ptr(d), ptr(bd), ptr(y));
            }
            case WARP -> rt.launch("mab_warp_forward_" + warpShare(hw), warpBlocks(planes), 1, 1, 32 * WARP_PLANES_PER_BLOCK, 0, planes, hw,
                ptr(ad), ptr(bd), ptr(y), ptr(lse));
            default -> {
                int smem = 2 * hw * Float.BYTES;
                boolean cache = mabCaches(hw, false);
                rt.launch("mab_fused_forward", planes, 1, 1, hw >= 2048 ? 512 : 256, cache ? smem : 0, hw, cache ? 1 : 0, ptr(ad), ptr(bd), ptr(y), ptr(lse));
            }
        }
        return new Backend.MabOut(y, lse);
    }

    /**
     * MAB fused backward: dF_rei and dF_rem from F_rei, F_rem, dF_am and the forward's lse (the kernel's argument order),
     * a warp per plane or a block per plane ({@link #shape}; NAIVE has no backward of its own and runs as FUSED).
     */
    Backend.MabGrads backward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse, CudaBackend.MabVersion version) {
        int[] s = fRei.shape();
        int hw = s[2] * s[3], planes = s[0] * s[1];
        Tensor da = be.empty(s), db = be.empty(s);
        CudaBackend.MabVersion v = shape(version == CudaBackend.MabVersion.NAIVE ? CudaBackend.MabVersion.FUSED : version, hw);
        if (v == CudaBackend.MabVersion.WARP) {
            rt.launch("mab_warp_backward_" + warpShare(hw), warpBlocks(planes), 1, 1, 32 * WARP_PLANES_PER_BLOCK, 0, planes, hw,
                ptr(be.dense(fRei)), ptr(be.dense(fRem)), ptr(be.dense(dFAm)), ptr(be.dense(lse)), ptr(da), ptr(db));
            return new Backend.MabGrads(da, db);
        }
        int smem = 3 * hw * Float.BYTES;
        boolean cache = mabCaches(hw, true);
        rt.launch("mab_fused_backward", planes, 1, 1, hw >= 2048 ? 512 : 256, cache ? smem : 0, hw, cache ? 1 : 0,
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
