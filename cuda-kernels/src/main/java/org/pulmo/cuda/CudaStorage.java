package org.pulmo.cuda;

import jcuda.driver.CUdeviceptr;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Storage;

/**
 * Device storage: a block of {@code size} floats from the {@link CudaAllocator}.
 *
 * <p>Release is deterministic, by reference counting: a storage starts with one reference, {@link #retain()}
 * adds one, {@link #release()} drops one and gives the block back to the allocator's cache at zero. Nobody
 * calls release from a finaliser or Cleaner. A {@link MemoryScope} (tensor-core) open on the allocating
 * thread takes over that first reference and releases it when the scope closes, so one scope around a
 * training step frees every intermediate of the step; what must outlive the step (parameters, gradients,
 * optimiser state) is kept by the scope ({@link MemoryScope.Steps} keeps the training state), or allocated
 * outside any scope. Storages the backend frees itself (cuDNN workspaces, FusedSgd's tables) are created
 * unscoped.
 */
public final class CudaStorage extends Storage {
    private final CUdeviceptr ptr;
    private final Device device;
    private final CudaAllocator allocator;
    private int refs = 1;

    CudaStorage(long size, Device device, CudaAllocator allocator) { this(size, device, allocator, true); }

    /** {@code scoped}: whether an open {@link MemoryScope} takes this storage over (false: the creator releases it). */
    CudaStorage(long size, Device device, CudaAllocator allocator, boolean scoped) {
        super(size);
        this.device = device;
        this.allocator = allocator;
        this.ptr = allocator.allocate(size * Float.BYTES);
        if (scoped) MemoryScope.register(this);
    }

    @Override public Device device() { return device; }

    /** The device address of element 0 (throws once released, and on another thread than the owning scope's). */
    public CUdeviceptr pointer() {
        if (refs <= 0) throw new IllegalStateException("use of a released CUDA storage of " + size() + " floats");
        checkThread("CUDA tensor");
        return ptr;
    }

    /** The raw address, as cuDNN and the SGD parameter table take it. */
    public long address() { return CudaRuntime.address(pointer()); }

    public synchronized CudaStorage retain() {
        if (refs <= 0) throw new IllegalStateException("retain of a released CUDA storage");
        refs++;
        return this;
    }

    @Override public synchronized void release() {
        if (refs <= 0) throw new IllegalStateException("CUDA storage released more often than retained");
        if (--refs == 0) allocator.free(ptr);
    }

    @Override public synchronized boolean isReleased() { return refs <= 0; }

    /** Releases the last reference and gives the block straight back to the driver (see {@link CudaAllocator#freeToDriver}). */
    public synchronized void releaseToDriver() {
        if (refs != 1) throw new IllegalStateException("releaseToDriver needs the only reference, found " + refs);
        refs = 0;
        allocator.freeToDriver(ptr);
    }
}
