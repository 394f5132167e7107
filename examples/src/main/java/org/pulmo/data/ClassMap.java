package org.pulmo.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts a data set's labels onto another class list (a checkpoint's, or the training part's) by class name,
 * never by position: a checkpoint trained on {@code bacterial/covid/normal/viral} and data in
 * {@code covid/normal/pneumonia_bac/pneumonia_vir} share the names {@code covid} and {@code normal} only, and
 * matching the sorted folders by position would label every image wrongly.
 * <ul>
 *   <li>A data class with the same name as a target class gets that class's index.</li>
 *   <li>{@code map} renames data classes first ({@code pneumonia_bac=bacterial}); a data class neither
 *       mapped nor named like a target class is an error naming both lists.</li>
 *   <li>The data may lack target classes (a test folder without one class): those classes simply have no
 *       images; {@link #missing} names them.</li>
 *   <li>A map entry whose old name is not a data class, or whose new name is not a target class, is an
 *       error (a typo must not pass silently). Two data classes may map onto one target class.</li>
 * </ul>
 */
public final class ClassMap {
    private ClassMap() {}

    /**
     * {@code old=new,old2=new2} as a map (empty for null or blank). Malformed entries and an old name given
     * twice are errors naming the entry.
     */
    public static Map<String, String> parse(String spec) {
        Map<String, String> map = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) return map;
        for (String part : spec.split(",")) {
            String e = part.strip();
            int eq = e.indexOf('=');
            if (eq <= 0 || eq == e.length() - 1 || e.indexOf('=', eq + 1) >= 0)
                throw new IllegalArgumentException("--class-map entry '" + e + "' is not DATA_CLASS=CHECKPOINT_CLASS (e.g. pneumonia_bac=bacterial)");
            String from = e.substring(0, eq).strip(), to = e.substring(eq + 1).strip();
            if (map.containsKey(from)) throw new IllegalArgumentException("--class-map maps '" + from + "' twice");
            map.put(from, to);
        }
        return map;
    }

    /** "Note: ..." lines for the checkpoint classes that several data classes are put onto (their images merged), or none. */
    public static List<String> merged(Map<String, String> map) {
        Map<String, List<String>> onto = new LinkedHashMap<>();
        for (var e : map.entrySet()) onto.computeIfAbsent(e.getValue(), k -> new java.util.ArrayList<>()).add(e.getKey());
        return onto.entrySet().stream().filter(e -> e.getValue().size() > 1)
            .map(e -> "Note: --class-map puts " + quotedNames(e.getValue()) + " all onto '" + e.getKey() + "': their images count as one class").toList();
    }

    /**
     * {@code data} with classes {@code target} and each label moved to the target class of the same name (after
     * {@code map}); {@code data} itself when nothing changes. {@code what} and {@code targetWhat} name the two
     * sides in messages ("the test part of data/xray", "the checkpoint").
     */
    public static Dataset onto(Dataset data, String what, List<String> target, String targetWhat, Map<String, String> map) {
        List<String> own = data.classes();
        for (Map.Entry<String, String> e : map.entrySet()) {
            if (!own.contains(e.getKey()))
                throw new DatasetException("--class-map " + e.getKey() + "=" + e.getValue() + ": '" + e.getKey() + "' is not a class of "
                    + what + " " + own);
            if (!target.contains(e.getValue()))
                throw new DatasetException("--class-map " + e.getKey() + "=" + e.getValue() + ": '" + e.getValue() + "' is not a class of " + targetWhat + " "
                    + target);
        }
        int[] to = new int[own.size()];
        List<String> unknown = new ArrayList<>();
        for (int k = 0; k < own.size(); k++) {
            String name = map.getOrDefault(own.get(k), own.get(k));
            to[k] = target.indexOf(name);
            if (to[k] < 0) unknown.add(own.get(k));
        }
        if (!unknown.isEmpty())
            throw new DatasetException("the classes of " + what + " " + own + " do not match the classes of " + targetWhat + " " + target + ": "
                + quotedNames(unknown) + (unknown.size() == 1 ? " is" : " are") + " not among them; rename the folders or give --class-map "
                + unknown.getFirst() + "=<one of " + target + ">");
        boolean same = own.equals(target);
        if (same) return data;
        return new Relabelled(data, List.copyOf(target), to);
    }

    /** The target classes that {@code data} (already put onto them) has no image of, in class order. */
    public static List<String> missing(Dataset data) {
        int[] n = data.classCounts();
        List<String> out = new ArrayList<>();
        for (int k = 0; k < n.length; k++) if (n[k] == 0) out.add(data.classes().get(k));
        return out;
    }

    /** {@code 'a', 'b'} for messages. */
    public static String quotedNames(List<String> names) {
        List<String> q = names.stream().map(n -> "'" + n + "'").toList();
        return String.join(", ", q);
    }

    /** A data set read through with other class names: label {@code k} of the parent becomes {@code to[k]}. */
    record Relabelled(Dataset parent, List<String> classes, int[] to) implements Dataset {
        @Override public int size() { return parent.size(); }
        @Override public int label(int index) { return to[parent.label(index)]; }
        @Override public Image image(int index) throws IOException { return parent.image(index); }
        @Override public String source(int index) { return parent.source(index); }
        @Override public String group(int index) { return parent.group(index); }
        @Override public String toString() { return "Relabelled(" + parent + " onto " + classes + ")"; }
    }
}
