package org.pulmo.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.pulmo.autograd.GradMode;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.cuda.CudaBackend;
import org.pulmo.models.MaNet;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.CapturedStep;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * One registered model's training step or inference on a fixed random batch, run the way the CLI's
 * {@code Trainer} runs it: the model from {@link ModelRegistry} with its default class count (DPN-92-SE 4,
 * MA-Net 2, ResNet-50 1000, as PyTorch's reference benchmark), {@link Sgd} (lr 0.01, momentum 0.9, weight
 * decay 1e-4), {@link Losses#crossEntropy} or MA-Net's own pair loss (adaptive CE + cosine), and a
 * {@link MemoryScope.Steps} per step so device memory stays at the training state. The batch sits on the
 * device before the first step (no host-to-device copy is timed, as in the reference).
 *
 * <p><b>How images are counted.</b> For MA-Net the batch is a number of <em>pairs</em> (an image and its mutex
 * image of another class); both go through the backbone, so a step of batch B processes 2 B images
 * ({@link #imagesPerStep}). The papers' MA-Net batch of 16 is 16 pairs = 32 images; PyTorch's reference
 * counts it the same way and also reports pairs/s. MA-Net inference here is the pair forward in evaluation
 * mode (both paths, MAB and FAB; what the reference times), also 2 images per pair; used on single images
 * MA-Net is exactly its ResNet-50 backbone.
 *
 * <p>Each call ends by bringing a result to the host (the loss, or the logits), so on a device it waits for
 * all the work of the step.
 *
 * <p><b>Recorded.</b> With {@code recorded}, the training step (or the inference) is a {@link CapturedStep}: recorded
 * once as a CUDA graph after one ordinary step, then replayed, the host launching one graph per step instead of every
 * kernel. Its inputs are buffers of its own that each step fills from the batch (a device-to-device copy of the images,
 * a host-to-device copy of the labels: some 20 MB at 224 x 224 and batch 32, a few microseconds of the step). Where the backend cannot
 * record (the CPU), the recorded step runs as the ordinary one and {@link #describe} says why.
 */
final class ModelWorkload implements AutoCloseable {

    enum Pass { TRAIN, INFER }

    /** The models of the two papers and the common baseline, by registry name. */
    static final List<String> MODELS = List.of("dpn92-se", "manet-resnet50", "resnet50");

    /** Batch (pairs for MA-Net) and square image side of a run. */
    record Size(int batch, int image) {
        /**
         * "small": batch 4 at 112 x 112, a size two CPU cores finish; "paper": the GPU sizes of the papers and
         * the reference (training: DPN-92-SE and ResNet-50 batch 32, MA-Net 16 pairs; inference batch 64;
         * all 224 x 224); or "BxS" such as "8x224".
         */
        static Size of(String size, String model, Pass pass) {
            return switch (size) {
                case "small" -> new Size(4, 112);
                case "paper" -> new Size(pass == Pass.INFER ? 64 : isPairModel(model) ? 16 : 32, 224);
                default -> {
                    String[] p = size.split("x", -1);
                    int b = 0, s = 0;
                    try {
                        if (p.length == 2) { b = Integer.parseInt(p[0].trim()); s = Integer.parseInt(p[1].trim()); }
                    } catch (NumberFormatException e) {
                        b = 0;
                    }
                    if (b < 1 || s < 1)
                        throw new IllegalArgumentException("size must be small, paper or BATCHxSIDE, two whole numbers of at least 1 (e.g. 8x224), got '" + size + "'");
                    yield new Size(b, s);
                }
            };
        }
    }

    static boolean isPairModel(String model) { return model.startsWith("manet"); }

    /** Images through the network per step: the batch, or two per pair for MA-Net. */
    static int imagesPerStep(String model, int batch) { return isPairModel(model) ? 2 * batch : batch; }

    final String model;
    final Pass pass;
    final Size size;
    final Device device;
    private final Module net;
    private final MaNet maNet;
    private final Sgd sgd;
    private final MemoryScope.Steps steps;
    private final Tensor x, m, y, yM;
    private final CapturedStep recorded;

    /**
     * Builds the model on {@code device} ("cpu" or "cuda"; {@code strictFp32} chooses strict FP32 over TF32 in
     * cuDNN and cuBLAS there). Throws with the reason when the device is not usable.
     */
    ModelWorkload(String model, Pass pass, Size size, String device, boolean strictFp32) {
        this(model, pass, size, device, strictFp32, false);
    }

    /** As above; {@code recorded}: training steps recorded and replayed (see the class comment). */
    ModelWorkload(String model, Pass pass, Size size, String device, boolean strictFp32, boolean recorded) {
        this.model = model;
        this.pass = pass;
        this.size = size;
        this.device = Device.parse(device);
        String why = Backends.unavailableReason(this.device);
        if (why != null) throw new IllegalStateException(model + " on " + device + ": the device is not usable: " + why);
        Backend be = Backends.of(this.device);
        if (be instanceof CudaBackend cuda) cuda.setStrictFp32(strictFp32);
        int classes = ModelRegistry.entry(model).defaultClasses();
        net = ModelRegistry.create(model, classes, size.image(), 1L).to(this.device);
        maNet = net instanceof MaNet mn ? mn : null;
        if (pass == Pass.TRAIN) net.train();
        else net.eval();
        sgd = Sgd.forModule(net, 0.01f, 0.9f, 1e-4f, false, false);
        steps = new MemoryScope.Steps(() -> sgd.trainingState(net));
        Rng rng = new Rng(3);
        int n = size.batch();
        x = Tensor.randn(rng, n, 3, size.image(), size.image()).to(this.device);
        m = maNet != null ? Tensor.randn(rng, n, 3, size.image(), size.image()).to(this.device) : null;
        float[] labels = new float[n], mutexLabels = new float[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % classes;
            mutexLabels[i] = (i + 1) % classes;   // the mutex image is of another class
        }
        // the host's labels, as the Trainer passes them: cross-entropy checks them there and copies them over, where
        // labels on the device would be read back to be checked, the host waiting for the device mid-step
        y = Tensor.of(labels, n);
        yM = Tensor.of(mutexLabels, n);
        if (!recorded) this.recorded = null;
        else if (pass == Pass.INFER)
            this.recorded = maNet != null ? CapturedStep.forward(this.device, in -> forward(in[0], in[1]), x.shape(), m.shape())
                : CapturedStep.forward(this.device, in -> forward(in[0], null), x.shape());
        else
            this.recorded = maNet != null
                ? new CapturedStep(this.device, sgd, steps, 1, in -> step(in[0], in[1], in[2], in[3]), x.shape(), m.shape(), y.shape(), yM.shape())
                : new CapturedStep(this.device, sgd, steps, 1, in -> step(in[0], null, in[1], null), x.shape(), y.shape());
    }

    /** The inference's work (also the recorded inference's body): the forward without gradients; the logits (both paths'). */
    private Tensor[] forward(Tensor images, Tensor mutexImages) {
        try (var noGrad = GradMode.noGrad()) {
            if (maNet == null) return new Tensor[] {net.forward(images)};
            MaNet.PairOutput po = maNet.forwardPair(images, mutexImages);
            return new Tensor[] {po.logitsX(), po.logitsM()};
        }
    }

    /** The training step's work (also the recorded step's body, on its input buffers); keeps the loss. */
    private Tensor[] step(Tensor images, Tensor mutexImages, Tensor labels, Tensor mutexLabels) {
        Tensor loss = loss(images, mutexImages, labels, mutexLabels, null);
        sgd.zeroGrad();
        loss.backward();
        sgd.step();
        return new Tensor[] {loss.detach()};
    }

    int imagesPerStep() { return imagesPerStep(model, size.batch()); }

    /** The model (for copying its weights into another library's version of it). */
    Module net() { return net; }

    /**
     * Forward and backward of the training step without the optimiser step, for checks against another library on
     * the same weights: returns the loss; the logits (both paths', for MA-Net) go to {@code logits} and each
     * parameter's gradient stays on it. The batch: {@link #inputs()}.
     */
    float forwardBackward(List<float[]> logits) {
        Tensor loss = loss(x, m, y, yM, logits);
        sgd.zeroGrad();
        loss.backward();
        return loss.item();
    }

    /**
     * The step's forward and loss on images {@code x} (and MA-Net's mutex images {@code m}) with labels {@code y}
     * ({@code yM}); the logits (both paths', for MA-Net) are copied to {@code logits} unless it is null.
     */
    private Tensor loss(Tensor x, Tensor m, Tensor y, Tensor yM, List<float[]> logits) {
        if (maNet != null) {
            MaNet.PairOutput po = maNet.forwardPair(x, m);
            if (logits != null) {
                logits.add(po.logitsX().toArray());
                logits.add(po.logitsM().toArray());
            }
            return maNet.loss(po, y, yM).total();
        }
        Tensor out = net.forward(x);
        if (logits != null) logits.add(out.toArray());
        return Losses.crossEntropy(out, y);
    }

    /** The batch on the host: images x, mutex images m (null unless MA-Net), labels y and the mutex labels. */
    record Inputs(float[] x, float[] m, float[] y, float[] yM, int[] imageShape) {}

    Inputs inputs() {
        return new Inputs(x.toArray(), m == null ? null : m.toArray(), y.toArray(), yM.toArray(), x.shape());
    }

    /** The training step or the inference of this workload; returns a value read back from the device. */
    float run() { return pass == Pass.TRAIN ? trainStep() : infer(); }

    /** Forward, loss, backward and SGD step; returns the loss (on a device: after the whole step has run). */
    float trainStep() {
        if (recorded != null) return (maNet != null ? recorded.step(x, m, y, yM) : recorded.step(x, y))[0].item();
        try (MemoryScope ignored = steps.open()) {
            return step(x, m, y, yM)[0].item();
        }
    }

    /** Forward in evaluation mode without a graph; returns the first logit after the logits reached the host. */
    float infer() {
        if (recorded != null) return firstLogits(maNet != null ? recorded.step(x, m) : recorded.step(x));
        try (MemoryScope ignored = MemoryScope.open()) {
            return firstLogits(forward(x, m));
        }
    }

    /** The first logit of each path, summed (one path but for MA-Net), read back from the device. */
    private static float firstLogits(Tensor[] logits) {
        float sum = 0;
        for (Tensor l : logits) sum += l.toArray()[0];
        return sum;
    }

    String describe() {
        return String.format(Locale.ROOT, "%s %s on %s, batch %d%s at %dx%d (%d images per pass)%s", model,
            pass == Pass.TRAIN ? "training step" : "inference", device, size.batch(), isPairModel(model) ? " pairs" : "",
            size.image(), size.image(), imagesPerStep(), recorded == null ? ""
                : recorded.recording() ? ", recorded as a CUDA graph and replayed" : ", not recorded: " + recorded.whyNotRecorded());
    }

    /** Recordings the recorded step made so far (0 when steps are not recorded). */
    long recordings() { return recorded == null ? 0 : recorded.recordings(); }

    /** Gives the device memory of the model, its optimiser state and the batch back (nothing to do on the CPU). */
    @Override public void close() {
        if (recorded != null) recorded.close();
        if (device.isCpu()) return;
        List<Tensor> all = new ArrayList<>(sgd.trainingState(net));
        for (Tensor t : new Tensor[] {x, m}) if (t != null) all.add(t);
        for (Tensor t : all) if (!t.storage().isReleased()) t.storage().release();
        if (Backends.of(device) instanceof CudaBackend cuda) cuda.emptyCache();
    }
}
