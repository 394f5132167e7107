package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;

/**
 * The portable generator without the reference files: FNV-1a and splitmix64 against their published test
 * vectors, a few values against numpy running the spec of {@code export_weights.py} (first bits of three
 * tensors), and the range rules. {@link AnchorParityTest} checks the generator against the reference's stored
 * inputs bit for bit when those files are present.
 */
class PortableInitTest {
    static final long SEED = 20240601L;

    @Test
    void fnvAndMixMatchTheirTestVectors() {
        assertEquals(0xcbf29ce484222325L, PortableInit.fnv1a64(""));
        assertEquals(0xaf63dc4c8601ec8cL, PortableInit.fnv1a64("a"));
        assertEquals(0x85944171f73967e8L, PortableInit.fnv1a64("foobar"));
        assertEquals(0x0ac21707b7181e01L, PortableInit.fnv1a64("\u00e9")); // UTF-8 bytes, not UTF-16 chars
        // splitmix64 from state 0: the first output is mix(GOLDEN)
        assertEquals(0xe220a8397b1dcdafL, PortableInit.mix(PortableInit.GOLDEN));
    }

    static int[] firstBits(Tensor t, int k) {
        float[] v = t.toArray();
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = Float.floatToRawIntBits(v[i]);
        return out;
    }

    @Test
    void valuesEqualNumpyRunningTheSpec() {
        double b = Math.sqrt(6.0 / 147);
        Tensor w = PortableInit.uniform(SEED, "features.conv1_1.conv.weight", -b, b, 64, 3, 7, 7);
        assertArrayEquals(new int[] {0xbd22501f, 0xbc7bdb4f, 0x3e482676}, firstBits(w, 3));
        assertEquals(0x3e209683, Float.floatToRawIntBits(w.toArray()[64 * 3 * 7 * 7 - 1]));
        Tensor g = PortableInit.uniform(SEED, "features.conv1_1.bn.weight", 0.2, 0.4, 64);
        assertArrayEquals(new int[] {0x3e5e8044, 0x3ebafc2a, 0x3ea93687}, firstBits(g, 3));
        Tensor x = PortableInit.uniform(SEED, "input.x", -1, 1, 2, 3, 224, 224);
        assertArrayEquals(new int[] {0xbeeba0cc, 0xbf4ef21e, 0x3f60c636}, firstBits(x, 3));
        double sum = 0;
        for (float v : x.toArray()) sum += v;
        assertEquals(941.3076360225677, sum, 1e-9);
        assertArrayEquals(new float[] {907, 815}, PortableInit.labels(SEED, "input.y", 2, 1000).toArray());
        assertArrayEquals(new double[] {11102242, 16292594, 5847382},
            java.util.Arrays.stream(PortableInit.uniform01(7, "x", 3)).map(u -> u * 0x1p24).toArray());
    }

    @Test
    void rangesFollowTheStateDictKey() {
        Map<String, Tensor> sd = Map.of("conv.weight", Tensor.zeros(96, 3, 3, 3), "bn.weight", Tensor.zeros(96),
            "fc.weight", Tensor.zeros(17, 272));
        // grouped conv: fan_in = numel / out = 3 * 3 * 3 (in / groups times the kernel area)
        assertArrayEquals(new double[] {-Math.sqrt(6.0 / 27), Math.sqrt(6.0 / 27)}, PortableInit.range("conv.weight", new int[] {96, 3, 3, 3}, sd));
        assertArrayEquals(new double[] {0.2, 0.4}, PortableInit.range("bn.weight", new int[] {96}, sd));
        assertArrayEquals(new double[] {-0.1, 0.1}, PortableInit.range("bn.bias", new int[] {96}, sd));
        assertArrayEquals(new double[] {-0.1, 0.1}, PortableInit.range("bn.running_mean", new int[] {96}, sd));
        assertArrayEquals(new double[] {0.75, 1.25}, PortableInit.range("bn.running_var", new int[] {96}, sd));
        assertArrayEquals(new double[] {-1 / Math.sqrt(272), 1 / Math.sqrt(272)}, PortableInit.range("fc.bias", new int[] {17}, sd));
        assertThrows(IllegalArgumentException.class, () -> PortableInit.range("x.scale", new int[] {3}, sd));
        assertThrows(IllegalArgumentException.class, () -> PortableInit.range("lonely.bias", new int[] {3}, sd));
    }

    @Test
    void applyFillsEveryEntryByName() {
        Module m = ModelRegistry.create("resnet18", 10, 32, 0L);
        PortableInit.apply(m, SEED);
        Map<String, Tensor> sd = m.stateDict();
        assertEquals(0f, sd.get("bn1.num_batches_tracked").item());
        double b = Math.sqrt(6.0 / 147);
        assertArrayEquals(PortableInit.uniform(SEED, "conv1.weight", -b, b, 64, 3, 7, 7).toArray(), sd.get("conv1.weight").toArray());
        assertArrayEquals(PortableInit.uniform(SEED, "layer1.0.bn2.running_var", 0.75, 1.25, 64).toArray(),
            sd.get("layer1.0.bn2.running_var").toArray());
        double bf = 1 / Math.sqrt(512);
        assertArrayEquals(PortableInit.uniform(SEED, "fc.bias", -bf, bf, 10).toArray(), sd.get("fc.bias").toArray());
    }
}
