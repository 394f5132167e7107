package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.autograd.GradMode;
import org.pulmo.io.Safetensors;
import org.pulmo.models.MaNet;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * PyTorch state dicts in and out, without PyTorch: the files are written here as PyTorch writes them (torchvision
 * names, F32 tensors, I64 num_batches_tracked, no Pulmo metadata) from a Pulmo model of another seed.
 */
public class PretrainedWeightsTest {

    /** A safetensors file as {@code safetensors.torch.save_file(model.state_dict())} writes it: no Pulmo digests. */
    public static void writeAsPyTorch(Map<String, Tensor> state, Path file) throws IOException {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (var e : state.entrySet()) {
            boolean counter = e.getKey().endsWith("num_batches_tracked");
            long end = offset + (counter ? 8L : 4L) * e.getValue().toArray().length;
            String shape = java.util.Arrays.toString(e.getValue().shape()).replace(" ", "");
            h.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"").append(counter ? "I64" : "F32").append("\",\"shape\":")
                .append(shape).append(",\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        byte[] header = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate((int) (8 + header.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        for (var e : state.entrySet()) {
            boolean counter = e.getKey().endsWith("num_batches_tracked");
            for (float v : e.getValue().toArray()) if (counter) b.putLong((long) v); else b.putFloat(v);
        }
        Files.write(file, b.array());
    }

    /** A model whose BatchNorm statistics are not the initial ones, so that an eval forward depends on them. */
    static Module trainedLooking(String name, int classes, long seed) {
        Module m = ModelRegistry.create(name, classes, 32, seed);
        Rng rng = new Rng(seed + 100);
        try (var ignored = GradMode.noGrad()) {
            for (var e : m.stateDict().entrySet()) {
                Tensor t = e.getValue();
                if (e.getKey().endsWith("running_mean")) t.copyFrom(Tensor.rand(rng, -0.2f, 0.2f, t.shape()));
                if (e.getKey().endsWith("running_var")) t.copyFrom(Tensor.rand(rng, 0.5f, 1.5f, t.shape()));
                if (e.getKey().endsWith("num_batches_tracked")) t.copyFrom(Tensor.scalar(1234));
            }
        }
        return m;
    }

    public static Tensor evalForward(Module m, Tensor x) {
        m.eval();
        try (var ignored = GradMode.noGrad()) { return m.forward(x); }
    }

    @Test void aTorchvisionFileGivesTheSameOutputsAsTheSourceModel(@TempDir Path dir) throws IOException {
        Module source = trainedLooking("resnet18", 3, 7);
        Path file = dir.resolve("resnet18.safetensors");
        writeAsPyTorch(source.stateDict(), file);
        Module target = ModelRegistry.create("resnet18", 3, 32, 8);
        PretrainedWeights.Report r = PretrainedWeights.load(file, target, "resnet18");
        assertEquals(source.stateDict().size(), r.loaded().size());
        assertTrue(r.reinitialised().isEmpty() && r.missing().isEmpty() && r.unexpected().isEmpty(), r.summary());
        Tensor x = Tensor.randn(new Rng(1), 2, 3, 32, 32);
        assertArrayEquals(evalForward(source, x).toArray(), evalForward(target, x).toArray());
        assertEquals(1234f, target.stateDict().get("bn1.num_batches_tracked").item());
    }

    @Test void aClassifierOfAnotherSizeStartsAfreshAndEverythingElseLoads(@TempDir Path dir) throws IOException {
        Module source = trainedLooking("resnet18", 1000, 7);
        Path file = dir.resolve("imagenet.safetensors");
        writeAsPyTorch(source.stateDict(), file);
        Module target = ModelRegistry.create("resnet18", 2, 32, 8), fresh = ModelRegistry.create("resnet18", 2, 32, 8);
        PretrainedWeights.Report r = PretrainedWeights.load(file, target, "resnet18");
        assertEquals(java.util.List.of("fc.weight", "fc.bias"), r.reinitialised());
        String summary = r.summary();
        assertTrue(summary.contains("re-initialised") && summary.contains("1000 classes") && summary.contains("fc.weight"), summary);
        assertTrue(summary.lines().count() <= 24, summary);
        for (var e : target.stateDict().entrySet()) {
            Tensor want = e.getKey().startsWith("fc.") ? fresh.stateDict().get(e.getKey()) : source.stateDict().get(e.getKey());
            assertArrayEquals(want.toArray(), e.getValue().toArray(), e.getKey());
        }
    }

    /** A run's own checkpoint starts another run (fine-tuning): its model's tensors, the optimiser's left out. */
    @Test void aPulmoCheckpointLoadsItsModel(@TempDir Path dir) throws IOException {
        Module source = trainedLooking("resnet18", 3, 7);
        Module target = ModelRegistry.create("resnet18", 3, 32, 8);
        PretrainedWeights.Report r = PretrainedWeights.load(checkpointOf(dir, source, "resnet18"), target, "resnet18");
        assertTrue(r.reinitialised().isEmpty() && r.missing().isEmpty() && r.unexpected().isEmpty(), r.summary());
        assertSameWeights(source, target);
    }

    /** {@code source} saved as a run's best checkpoint of {@code model}, without an optimiser. */
    private static Path checkpointOf(Path dir, Module source, String model) throws IOException {
        Path ck = dir.resolve("best.safetensors");
        org.pulmo.io.Checkpoint.save(ck, source, null, 2, 10, Map.of(), Map.of("model", model));
        return ck;
    }

    /** Every tensor of {@code source}'s state dict, bit for bit, in {@code target}. */
    private static void assertSameWeights(Module source, Module target) {
        for (var e : source.stateDict().entrySet()) assertArrayEquals(e.getValue().toArray(), target.stateDict().get(e.getKey()).toArray(), e.getKey());
    }

    /**
     * A MA-Net checkpoint gives MA-Net all its weights, FAB's included (before: only the backbone, FAB started afresh),
     * the classifier afresh for another class count; and gives a plain ResNet-50 its backbone (before: "another architecture").
     */
    @Test void aMaNetCheckpointLoadsFabTooAndGivesResNetItsBackbone(@TempDir Path dir) throws IOException {
        Module source = trainedLooking("manet-resnet50", 2, 7);
        Path ck = checkpointOf(dir, source, "manet-resnet50");
        Module same = ModelRegistry.create("manet-resnet50", 2, 32, 8);
        PretrainedWeights.Report r = PretrainedWeights.load(ck, same, "manet-resnet50");
        assertTrue(r.reinitialised().isEmpty() && r.missing().isEmpty() && r.unexpected().isEmpty() && r.ownInit().isEmpty(), r.summary());
        assertSameWeights(source, same);
        assertTrue(source.stateDict().keySet().stream().anyMatch(k -> k.startsWith("fab.")), "FAB has weights to carry");

        Module three = ModelRegistry.create("manet-resnet50", 3, 32, 8);
        PretrainedWeights.Report r3 = PretrainedWeights.load(ck, three, "manet-resnet50");
        assertEquals(List.of("backbone.fc.weight", "backbone.fc.bias"), r3.reinitialised(), r3.summary());
        assertArrayEquals(source.stateDict().get("fab.0.fc1.weight").toArray(), three.stateDict().get("fab.0.fc1.weight").toArray());

        Module resnet = ModelRegistry.create("resnet50", 2, 32, 8);
        PretrainedWeights.Report rr = PretrainedWeights.load(ck, resnet, "resnet50");
        assertTrue(rr.missing().isEmpty() && rr.unexpected().stream().allMatch(k -> k.startsWith("fab.")) && !rr.unexpected().isEmpty(), rr.summary());
        assertArrayEquals(source.stateDict().get("backbone.layer4.2.conv3.weight").toArray(), resnet.stateDict().get("layer4.2.conv3.weight").toArray());
    }

    /** Weights that are not finite (a diverged run's) are refused naming the tensor and index, before anything is loaded. */
    @Test void nonFiniteWeightsAreRefusedAndNothingLoads(@TempDir Path dir) throws IOException {
        Map<String, Tensor> state = new LinkedHashMap<>(trainedLooking("resnet18", 3, 7).stateDict());
        float[] w = state.get("layer1.0.conv1.weight").toArray();
        w[5] = Float.POSITIVE_INFINITY;
        state.put("layer1.0.conv1.weight", Tensor.of(w, state.get("layer1.0.conv1.weight").shape()));
        Path file = dir.resolve("diverged.safetensors");
        writeAsPyTorch(state, file);
        Module target = ModelRegistry.create("resnet18", 3, 32, 8), fresh = ModelRegistry.create("resnet18", 3, 32, 8);
        IOException e = assertThrows(IOException.class, () -> PretrainedWeights.load(file, target, "resnet18"));
        assertEquals(file + ": tensor layer1.0.conv1.weight holds Infinity at index 5; nothing was loaded", e.getMessage());
        for (var t : fresh.stateDict().entrySet()) assertArrayEquals(t.getValue().toArray(), target.stateDict().get(t.getKey()).toArray(), t.getKey());
    }

    @Test void aResNet50FileIntoDpn92IsRefusedWithOneLineAndLoadsNothing(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("resnet50.safetensors");
        writeAsPyTorch(ModelRegistry.create("resnet50", 1000, 32, 1).stateDict(), file);
        Module dpn = ModelRegistry.create("dpn92", 4, 32, 2);
        float[] before = dpn.stateDict().get("features.conv1_1.conv.weight").toArray();
        PretrainedWeights.MismatchException e = assertThrows(PretrainedWeights.MismatchException.class,
            () -> PretrainedWeights.load(file, dpn, "dpn92"));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains("holds no tensor of dpn92") && e.getMessage().contains("another architecture"), e.getMessage());
        assertArrayEquals(before, dpn.stateDict().get("features.conv1_1.conv.weight").toArray());

        Path r18 = dir.resolve("resnet18.safetensors"); // same names, other shapes
        writeAsPyTorch(ModelRegistry.create("resnet18", 1000, 32, 1).stateDict(), r18);
        Module r50 = ModelRegistry.create("resnet50", 2, 32, 2);
        e = assertThrows(PretrainedWeights.MismatchException.class, () -> PretrainedWeights.load(r18, r50, "resnet50"));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains("layer1.0.conv1.weight: model [64, 64, 1, 1], file [64, 64, 3, 3]"), e.getMessage());
    }

    @Test void exportThenImportRoundTripsBitExactlyAndMaNetTradesItsBackbone(@TempDir Path dir) throws IOException {
        Module a = trainedLooking("resnet50", 2, 3);
        Path plain = dir.resolve("resnet50.safetensors");
        writeAsPyTorch(a.stateDict(), plain);
        MaNet manet = (MaNet) ModelRegistry.create("manet-resnet50", 2, 32, 4);
        Map<String, float[]> fabBefore = new LinkedHashMap<>();
        for (var e : manet.stateDict().entrySet()) if (e.getKey().startsWith("fab.")) fabBefore.put(e.getKey(), e.getValue().toArray());
        PretrainedWeights.Report r = PretrainedWeights.load(plain, manet, "manet-resnet50");
        assertEquals(a.stateDict().size(), r.loaded().size());
        assertTrue(r.loaded().stream().allMatch(k -> k.startsWith("backbone.")), r.summary());
        assertEquals(fabBefore.keySet(), new java.util.LinkedHashSet<>(r.ownInit()));
        for (var e : fabBefore.entrySet()) assertArrayEquals(e.getValue(), manet.stateDict().get(e.getKey()).toArray(), e.getKey());

        Path exported = dir.resolve("exported.safetensors");
        PretrainedWeights.export(manet, exported);   // the backbone, "backbone." stripped
        Safetensors.Contents c = Safetensors.read(exported);
        assertEquals(a.stateDict().keySet(), c.tensors().keySet());
        assertTrue(new String(Files.readAllBytes(exported), StandardCharsets.ISO_8859_1)
            .contains("\"layer1.0.bn1.num_batches_tracked\":{\"dtype\":\"I64\""));
        Module b = ModelRegistry.create("resnet50", 2, 32, 9);
        PretrainedWeights.load(exported, b, "resnet50");
        for (var e : a.stateDict().entrySet()) {
            float[] want = e.getValue().toArray(), got = b.stateDict().get(e.getKey()).toArray();
            for (int i = 0; i < want.length; i++)
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), e.getKey() + "[" + i + "]");
        }
    }

    /**
     * The PyTorch model {@code pulmo export} names must compute Pulmo's function, not only take its tensors: timm's
     * DPNs end {@code conv5_bn_ac} in ELU by default where Pulmo's end in ReLU (on the DPN-92s of
     * {@code scripts/torch-roundtrip.sh} the logits move by 0.4 to 0.9 of the largest one), and DPN-92-SE's counterpart is the one in {@code scripts/torch_roundtrip.py}.
     */
    @Test void theSuggestedPyTorchModelComputesPulmosFunction() {
        assertEquals("torchvision.models.resnet50(num_classes=2)", PretrainedWeights.pytorchModel("manet-resnet50", 2));
        for (String dpn : new String[] {"dpn68", "dpn92", "dpn131"})
            assertEquals("timm.create_model(\"" + dpn + "\", num_classes=4, fc_act_layer=\"relu\")", PretrainedWeights.pytorchModel(dpn, 4));
        String se = PretrainedWeights.pytorchModel("dpn92-se", 4);
        assertNotNull(se, "dpn92-se has a PyTorch counterpart");
        assertTrue(se.contains("DPN92(num_classes=4, se=True)"), se);
        assertNull(PretrainedWeights.pytorchModel("dpn92-se-resid", 4));
    }
}
