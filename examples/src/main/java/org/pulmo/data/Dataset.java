package org.pulmo.data;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * An indexed, labelled set of images. {@link #image} decodes (or generates) image {@code index} as
 * [3, H, W] floats in [0, 1]; the label, group and source of an image are known without decoding it, so
 * splits and class counts cost no image reads. Implementations must allow {@link #image} to be called from
 * several threads at once (the loader decodes in parallel).
 */
public interface Dataset {

    /** Class names; label {@code k} means {@code classes().get(k)}. */
    List<String> classes();

    int size();

    /** The class index of image {@code index}, in [0, classes().size()). */
    int label(int index);

    /** The image as [3, H, W] in [0, 1]. Throws {@link ImageDecodeException} (naming the file) for a bad file. */
    Image image(int index) throws IOException;

    /** Where image {@code index} comes from, for messages: a file path or "demo image 17". */
    String source(int index);

    /** The group (patient) of image {@code index}, or null when the data set has no group ids. */
    default String group(int index) { return null; }

    /** True when every image has a group id. */
    default boolean hasGroups() {
        for (int i = 0; i < size(); i++) if (group(i) == null) return false;
        return size() > 0;
    }

    default int numClasses() { return classes().size(); }

    /** Images per class, indexed by label. */
    default int[] classCounts() {
        int[] n = new int[numClasses()];
        for (int i = 0; i < size(); i++) n[label(i)]++;
        return n;
    }

    /**
     * Throws a {@link DatasetException} when a model with {@code modelClasses} outputs cannot be trained or
     * evaluated on this data set: a different class count, or a class with no images. Call it before training.
     */
    default void requireClassCount(int modelClasses) {
        if (modelClasses != numClasses())
            throw new DatasetException("the model has " + modelClasses + " output classes but the data set has "
                + numClasses() + " " + classes() + "; choose a model built for " + numClasses() + " classes");
        int[] n = classCounts();
        for (int k = 0; k < n.length; k++)
            if (n[k] == 0) throw new DatasetException("class '" + classes().get(k) + "' has no images in this data set");
    }

    /** The images {@code indices} (in that order) as a data set of their own; it reads through to this one. */
    default Dataset subset(int[] indices) { return new Subset(this, indices); }

    /** Several data sets with the same classes as one, in order (evaluate's {@code --split all}). */
    static Dataset concat(List<Dataset> parts) {
        for (Dataset d : parts)
            if (!d.classes().equals(parts.getFirst().classes()))
                throw new IllegalArgumentException("cannot join data sets of classes " + parts.getFirst().classes() + " and " + d.classes());
        return new Concat(List.copyOf(parts));
    }

    /** Data sets with the same classes, one after another. */
    record Concat(List<Dataset> parts) implements Dataset {
        @Override public List<String> classes() { return parts.getFirst().classes(); }
        @Override public int size() { return parts.stream().mapToInt(Dataset::size).sum(); }
        @Override public int label(int index) { int[] at = at(index); return parts.get(at[0]).label(at[1]); }
        @Override public Image image(int index) throws IOException { int[] at = at(index); return parts.get(at[0]).image(at[1]); }
        @Override public String source(int index) { int[] at = at(index); return parts.get(at[0]).source(at[1]); }
        @Override public String group(int index) { int[] at = at(index); return parts.get(at[0]).group(at[1]); }

        /** {part, index in it} of image {@code index}. */
        private int[] at(int index) {
            int i = index;
            for (int k = 0; k < parts.size(); k++) {
                if (i >= 0 && i < parts.get(k).size()) return new int[] {k, i};
                i -= parts.get(k).size();
            }
            throw new IndexOutOfBoundsException("index " + index + " of a data set of " + size());
        }
    }

    /** A view of some images of a data set, in a given order. */
    record Subset(Dataset parent, int[] indices) implements Dataset {
        public Subset {
            indices = indices.clone();
            for (int i : indices)
                if (i < 0 || i >= parent.size()) throw new IndexOutOfBoundsException("index " + i + " of a data set of " + parent.size());
        }
        @Override public List<String> classes() { return parent.classes(); }
        @Override public int size() { return indices.length; }
        @Override public int label(int index) { return parent.label(indices[index]); }
        @Override public Image image(int index) throws IOException { return parent.image(indices[index]); }
        @Override public String source(int index) { return parent.source(indices[index]); }
        @Override public String group(int index) { return parent.group(indices[index]); }
        @Override public int[] indices() { return indices.clone(); }
        @Override public String toString() { return "Subset(" + indices.length + " of " + parent + ")"; }
        @Override public boolean equals(Object o) {
            return o instanceof Subset s && s.parent.equals(parent) && Arrays.equals(s.indices, indices);
        }
        @Override public int hashCode() { return 31 * parent.hashCode() + Arrays.hashCode(indices); }
    }
}
