package org.pulmo.cuda;

/** Device memory ran out even after the allocator gave its cached blocks back to the driver. */
public final class CudaOutOfMemoryException extends CudaException {
    public final long requestedBytes;
    public final CudaAllocator.Stats stats;

    public CudaOutOfMemoryException(long requestedBytes, CudaAllocator.Stats stats, String driverStatus) {
        super("CUDA out of memory: could not allocate " + CudaAllocator.human(requestedBytes) + " (" + requestedBytes
            + " bytes); allocator: " + stats + "; driver said " + driverStatus);
        this.requestedBytes = requestedBytes;
        this.stats = stats;
    }
}
