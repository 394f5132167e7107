package org.pulmo.data;

import static org.pulmo.data.Transforms.*;

import java.util.Locale;

/**
 * The papers' preprocessing presets, for images of {@code size x size} ending in ImageNet normalisation.
 * Each gives a training transform (random) and an evaluation transform (deterministic).
 * <ul>
 *   <li>{@link #DPN_SENET}: train = resize the short side to S, random S x S crop, horizontal flip (p = 0.5),
 *       one affine map with rotation in +-{@value #DPN_DEGREES} degrees and scale in
 *       [{@value #DPN_MIN_SCALE}, {@value #DPN_MAX_SCALE}]; eval = resize the short side to S, centre crop.
 *       The paper names the operations but not their ranges; these ranges are this library's choice.</li>
 *   <li>{@link #MA_NET}: train = resize to S x S, horizontal and vertical flips (p = 0.5 each), rotation in
 *       +-{@value #MA_NET_DEGREES} degrees; eval = resize to S x S (the centre crop is then the whole image).</li>
 *   <li>{@link #RESIZE}: train = eval = resize to S x S, nothing random: MA-Net's preprocessing of the data sets
 *       it did not augment (Sec. 4.1: every image "resized to 224 x 224"; flips and rotation for dataset-C only), and
 *       MA-Net's default.</li>
 *   <li>{@link #NONE}: train = eval = resize the short side to S, centre crop (for "without augmentation"
 *       ablations of DPN-SENet, whose evaluation transform it is).</li>
 * </ul>
 */
public enum Augmentation {
    DPN_SENET, MA_NET, NONE, RESIZE;

    // Departure: DPN-SENet (Fig. 1, Sec. 3.1) names flip, rotate and scale without ranges, and no test-time transform;
    // these ranges and the centre crop are our choice.
    public static final double DPN_DEGREES = 10, DPN_MIN_SCALE = 0.9, DPN_MAX_SCALE = 1.1;
    // Departure: MA-Net (Sec. 4.1) flips and rotates its small dataset-C, with no rotation range given: 15 degrees is
    // our choice. MA-Net's default is RESIZE, as the paper trains its other data sets; ma-net is for dataset-C.
    public static final double MA_NET_DEGREES = 15;

    /** The training transform at {@code size}, normalised with ImageNet's mean and std. */
    public Transform train(int size) { return train(size, true); }

    public Transform train(int size, boolean imagenetNormalize) {
        Transform t = switch (this) {
            case DPN_SENET -> Transform.compose(resizeShortSide(size), randomCrop(size), horizontalFlip(0.5),
                randomAffine(DPN_DEGREES, DPN_MIN_SCALE, DPN_MAX_SCALE));
            case MA_NET -> Transform.compose(resize(size, size), horizontalFlip(0.5), verticalFlip(0.5), randomRotation(MA_NET_DEGREES));
            case NONE, RESIZE -> eval(size, false);
        };
        return imagenetNormalize ? t.then(imagenetNormalize()) : t;
    }

    /** The evaluation transform at {@code size}, normalised with ImageNet's mean and std. */
    public Transform eval(int size) { return eval(size, true); }

    public Transform eval(int size, boolean imagenetNormalize) {
        Transform t = seesWholeImage() ? resize(size, size) : resizeShortSide(size).then(centerCrop(size));
        return imagenetNormalize ? t.then(imagenetNormalize()) : t;
    }

    /** Whether the evaluation transform resizes the whole image to S x S (no crop; the aspect ratio changes). */
    public boolean seesWholeImage() { return this == MA_NET || this == RESIZE; }

    /** "dpn-senet", "ma-net", "resize", "none" (any case, '-' or '_') -> the preset. */
    public static Augmentation parse(String name) {
        String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Augmentation a : values()) if (a.name().equals(n) || a.name().replace("_", "").equals(n.replace("_", ""))) return a;
        throw new IllegalArgumentException("unknown augmentation '" + name + "'; choose dpn-senet, ma-net, resize or none");
    }

    /** The lower-case, hyphenated name parse() accepts. */
    public String label() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }
}
