package org.pulmo.explain;

import org.pulmo.data.Augmentation;

/**
 * Where the pixels of an original image land in the model's {@code size x size} input under an evaluation
 * transform, so that a map computed on the input can be drawn back on the whole original picture.
 * <ul>
 *   <li>dpn-senet and none: resize the short side to {@code size} (long side as Transforms.longSide), then the centre crop
 *       (offsets as Transforms.centreOffset rounds them): the ends of the long side are never seen by the model;</li>
 *   <li>ma-net and resize: resize to {@code size x size}: every pixel is seen, the aspect ratio changes.</li>
 * </ul>
 * Coordinates are pixel centres, resampled as {@link org.pulmo.data.Transforms} does
 * ({@code dst = (src + 0.5) * out / in - 0.5}).
 *
 * @param height  the original's height
 * @param width   the original's width
 * @param size    the model's input side
 * @param scaleY  resized height / original height
 * @param scaleX  resized width / original width
 * @param top     rows of the resized image above the crop
 * @param left    columns of the resized image left of the crop
 */
public record CropGeometry(int height, int width, int size, double scaleY, double scaleX, int top, int left) {

    /** The geometry of {@code augmentation.eval(size)} on an {@code height x width} original. */
    public static CropGeometry of(Augmentation augmentation, int size, int height, int width) {
        if (augmentation.seesWholeImage()) return new CropGeometry(height, width, size, (double) size / height, (double) size / width, 0, 0);
        int[] r = org.pulmo.data.Transforms.shortSideSize(size, height, width);   // as Transforms.resizeShortSide sizes it
        int rh = r[0], rw = r[1];
        return new CropGeometry(height, width, size, (double) rh / height, (double) rw / width, org.pulmo.data.Transforms.centreOffset(rh - size),
            org.pulmo.data.Transforms.centreOffset(rw - size));
    }

    /** The model-input row (pixel centres at integers) of original row {@code y}. */
    public double modelY(double y) { return (y + 0.5) * scaleY - 0.5 - top; }

    /** The model-input column of original column {@code x}. */
    public double modelX(double x) { return (x + 0.5) * scaleX - 0.5 - left; }

    /** True when a model-input position lies inside the input (the model saw it). */
    public boolean seen(double my, double mx) {
        return my >= -0.5 && my < size - 0.5 && mx >= -0.5 && mx < size - 0.5;
    }

    /** True when the model sees the whole original (nothing cropped away). */
    public boolean seesAll() { return top == 0 && left == 0 && Math.round(scaleY * height) <= size && Math.round(scaleX * width) <= size; }

    /**
     * A map [mapH, mapW] that covers the model's input (a Grad-CAM layer, or LIME at the input's own resolution)
     * resampled onto the original's [height, width] pixels: bilinear ({@code nearest = false}, for smooth maps) or
     * nearest ({@code nearest = true}, for LIME's superpixel weights whose edges must stay where the segments end).
     * Pixels the model did not see are NaN.
     */
    public float[] toOriginal(float[] map, int mapH, int mapW, boolean nearest) {
        float[] out = new float[height * width];
        for (int y = 0; y < height; y++) {
            double my = modelY(y);
            for (int x = 0; x < width; x++) {
                double mx = modelX(x);
                if (!seen(my, mx)) { out[y * width + x] = Float.NaN; continue; }
                double sy = (my + 0.5) * mapH / size - 0.5, sx = (mx + 0.5) * mapW / size - 0.5; // map-cell coordinates
                if (nearest) {
                    int iy = (int) Math.clamp(Math.round(sy), 0, mapH - 1), ix = (int) Math.clamp(Math.round(sx), 0, mapW - 1);
                    out[y * width + x] = map[iy * mapW + ix];
                    continue;
                }
                sy = Math.clamp(sy, 0, mapH - 1);
                sx = Math.clamp(sx, 0, mapW - 1);
                int y0 = (int) sy, y1 = Math.min(y0 + 1, mapH - 1), x0 = (int) sx, x1 = Math.min(x0 + 1, mapW - 1);
                double fy = sy - y0, fx = sx - x0;
                out[y * width + x] = (float) ((1 - fy) * ((1 - fx) * map[y0 * mapW + x0] + fx * map[y0 * mapW + x1])
                    + fy * ((1 - fx) * map[y1 * mapW + x0] + fx * map[y1 * mapW + x1]));
            }
        }
        return out;
    }
}
