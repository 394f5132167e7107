package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;

/**
 * The caching allocator's reuse rule ({@link CudaAllocator#allocate}): a freed block serves requests of its own size
 * class; from 1 MiB on also requests of a class at least half its size, never smaller ones, which would leave most of
 * the block idle. Read from the allocator's counts: driver allocations, cached and reserved bytes.
 */
@Tag("gpu")
class CachingAllocatorTest {

    @Test void freedBlocksServeTheirClassAndLargeOnesUpToTwiceTheRequest() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        CudaAllocator a = ((CudaBackend) Backends.of(Device.cuda(0))).runtime().allocator();
        boolean was = a.exactBlocks();
        try {
            a.exactBlocks(false);
            a.emptyCache();
            CudaAllocator.Stats s0 = a.stats();

            // Below 1 MiB: a cached 4 KiB block serves the 4 KiB class only.
            CUdeviceptr small = a.allocate(4096);
            long smallAt = CudaRuntime.address(small);
            a.free(small);
            CUdeviceptr other = a.allocate(2560);
            assertEquals(s0.driverAllocs() + 2, a.stats().driverAllocs(), "a 2.5 KiB request does not take the cached 4 KiB block");
            assertNotEquals(smallAt, CudaRuntime.address(other));
            CUdeviceptr same = a.allocate(3900);
            assertEquals(s0.driverAllocs() + 2, a.stats().driverAllocs(), "a request of the 4 KiB class takes the cached block");
            assertEquals(smallAt, CudaRuntime.address(same));
            a.free(other);
            a.free(same);

            // From 1 MiB: a cached 6 MiB block serves a 4 MiB request (its class is over half the block) but not a 2 MiB one.
            a.emptyCache();
            CudaAllocator.Stats s1 = a.stats();
            CUdeviceptr six = a.allocate(6L << 20);
            long sixAt = CudaRuntime.address(six);
            a.free(six);
            CUdeviceptr two = a.allocate(2L << 20);
            CudaAllocator.Stats s2 = a.stats();
            assertEquals(s1.driverAllocs() + 2, s2.driverAllocs(), "a 2 MiB request does not take the cached 6 MiB block");
            assertEquals(6L << 20, s2.cachedBytes(), "the 6 MiB block stays cached");
            CUdeviceptr four = a.allocate((3L << 20) + 1);
            CudaAllocator.Stats s3 = a.stats();
            assertEquals(s2.driverAllocs(), s3.driverAllocs(), "a request of the 4 MiB class takes the cached 6 MiB block");
            assertEquals(sixAt, CudaRuntime.address(four));
            assertEquals(0, s3.cachedBytes(), "nothing left in the cache");
            assertEquals(s1.inUseBytes() + (6L << 20), s3.inUseBytes(), "in use counts the requests' classes: 2 MiB and 4 MiB");
            assertEquals(s1.reservedBytes() + (8L << 20), s3.reservedBytes(), "reserved counts the blocks: 2 MiB and 6 MiB");
            a.free(two);
            a.free(four);
            a.emptyCache();
            assertEquals(s1.reservedBytes(), a.stats().reservedBytes(), "emptyCache gives the blocks back");
        } finally {
            a.exactBlocks(was);
        }
    }
}
