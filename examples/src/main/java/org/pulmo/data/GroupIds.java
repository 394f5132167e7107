package org.pulmo.data;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where an image's group (patient) id comes from, for patient-level splits and metrics. Sees each image's
 * path relative to the data set's root. An image without an id is an error naming the file: a patient-level
 * result with silently missing patients would be wrong.
 */
@FunctionalInterface
public interface GroupIds {

    String groupOf(Path relativePath);

    /**
     * The first capture group of {@code regex} found in the file name; for example {@code "^(person\\d+)_"}
     * gives {@code person12} for {@code person12_virus_33.jpeg}.
     */
    static GroupIds fileNamePattern(String regex) {
        Pattern p = Pattern.compile(regex);
        if (p.matcher("").groupCount() < 1) throw new IllegalArgumentException("group pattern needs a capture group: " + regex);
        return rel -> {
            Matcher m = p.matcher(rel.getFileName().toString());
            if (!m.find() || m.group(1) == null) throw new DatasetException(rel + ": file name does not match the group pattern " + regex);
            return m.group(1);
        };
    }

    /** The name of the folder holding the image ({@code covid/patient7/slice3.png} -> {@code patient7}). */
    static GroupIds parentFolder() {
        return rel -> {
            Path parent = rel.getParent();
            if (parent == null) throw new DatasetException(rel + ": no parent folder to take a group id from");
            return parent.getFileName().toString();
        };
    }

    /**
     * A CSV with a header holding a {@code path} column (relative path, or bare file name) and a {@code group}
     * or {@code patient} column.
     */
    static GroupIds csv(Path csv) {
        List<Map<String, String>> rows = Csv.read(csv);
        if (rows.isEmpty()) throw new DatasetException(csv + ": no rows");
        String col = rows.getFirst().containsKey("group") ? "group" : rows.getFirst().containsKey("patient") ? "patient" : null;
        if (col == null || !rows.getFirst().containsKey("path")) throw new DatasetException(csv + ": needs a 'path' column and a 'group' or 'patient' column");
        Map<String, String> byPath = new HashMap<>();
        for (Map<String, String> r : rows) byPath.put(r.get("path").replace('\\', '/'), r.get(col));
        return rel -> {
            String g = byPath.get(rel.toString().replace('\\', '/'));
            if (g == null) g = byPath.get(rel.getFileName().toString());
            if (g == null || g.isEmpty()) throw new DatasetException(rel + ": no group id in " + csv);
            return g;
        };
    }
}
