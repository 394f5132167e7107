package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;

/**
 * The allocator's test switch {@link CudaAllocator#exactBlocks}: each request its own driver allocation of exactly its
 * bytes, given back to the driver when freed; the cache as before with the switch off. In-use bytes count size classes
 * either way.
 */
@Tag("gpu")
class ExactBlocksTest {

    @Test void exactBlocksComeFromAndGoBackToTheDriver() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        CudaAllocator a = ((CudaBackend) Backends.of(Device.cuda(0))).runtime().allocator();
        boolean was = a.exactBlocks();
        try {
            a.exactBlocks(true);
            CudaAllocator.Stats s0 = a.stats();
            CUdeviceptr p = a.allocate(240);
            CudaAllocator.Stats s1 = a.stats();
            assertEquals(s0.driverAllocs() + 1, s1.driverAllocs(), "an exact block is a driver allocation of its own");
            assertEquals(s0.reservedBytes() + 240, s1.reservedBytes(), "of exactly the bytes asked for");
            assertEquals(s0.inUseBytes() + CudaAllocator.roundUp(240), s1.inUseBytes(), "in use counts the size class");
            a.free(p);
            CudaAllocator.Stats s2 = a.stats();
            assertEquals(s0.reservedBytes(), s2.reservedBytes(), "freed to the driver");
            assertEquals(s0.cachedBytes(), s2.cachedBytes(), "not cached");
            assertEquals(s0.inUseBytes(), s2.inUseBytes());

            a.exactBlocks(false);
            a.emptyCache();                      // earlier tests may have left a block of this class in the cache
            s2 = a.stats();
            CUdeviceptr q = a.allocate(240);
            a.free(q);
            CudaAllocator.Stats s3 = a.stats();
            assertEquals(s2.reservedBytes() + CudaAllocator.roundUp(240), s3.reservedBytes(), "off: a size-class block, kept in the cache");
            a.exactBlocks(true);
            CUdeviceptr r = a.allocate(240);
            assertEquals(s3.driverAllocs() + 1, a.stats().driverAllocs(), "on: the cached block is not handed out");
            a.free(r);
        } finally {
            a.exactBlocks(was);
        }
    }
}
