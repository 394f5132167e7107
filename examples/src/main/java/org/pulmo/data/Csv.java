package org.pulmo.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small CSV reader: a header row, commas, double-quoted fields with "" for a quote, one record per line. */
public final class Csv {
    private Csv() {}

    /** One record and the line of the file it is on (1-based, the header is line 1), for messages. */
    public record Row(int line, Map<String, String> fields) {
        public String get(String column) { return fields.get(column); }
    }

    static List<Map<String, String>> read(Path csv) {
        return rows(csv).stream().map(Row::fields).toList();
    }

    /** The records of {@code csv} by column name; a file that cannot be read or parsed is a {@link DatasetException} naming it and the line. */
    public static List<Row> rows(Path csv) {
        List<String> lines = lines(csv);
        List<Row> rows = new ArrayList<>();
        List<String> header = null;
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n);
            if (n == 0 && line.startsWith("\uFEFF")) line = line.substring(1);
            if (line.isBlank()) continue;
            if (line.indexOf('\0') >= 0)
                throw new DatasetException(csv + " line " + (n + 1) + ": holds a NUL character (a binary file, or one damaged)");
            List<String> fields = split(line, csv, n + 1);
            if (header == null) {
                header = fields.stream().map(String::strip).toList();
                for (String h : header)   // a row's fields are looked up by column name: two of one name would hide one
                    if (header.indexOf(h) != header.lastIndexOf(h)) throw new DatasetException(csv + " line " + (n + 1) + ": column '" + h + "' comes twice");
                continue;
            }
            if (fields.size() != header.size())
                throw new DatasetException(csv + " line " + (n + 1) + ": " + fields.size() + " fields, the header has " + header.size());
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.size(); i++) row.put(header.get(i), fields.get(i));
            rows.add(new Row(n + 1, row));
        }
        if (header == null) throw new DatasetException("CSV " + csv + " is empty");
        return rows;
    }

    /** The lines of a UTF-8 text file; one that is not (a folder, unreadable, other bytes) is refused naming it and the line. */
    private static List<String> lines(Path csv) {
        if (Files.isDirectory(csv)) throw new DatasetException("CSV " + csv + " is a folder, not a file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(csv);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DatasetException("cannot read CSV " + csv + ": no such file", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new DatasetException("cannot read CSV " + csv + ": permission denied", e);
        } catch (IOException e) {
            throw new DatasetException("cannot read CSV " + csv + ": " + e.getMessage(), e);
        }
        var utf8 = StandardCharsets.UTF_8.newDecoder();   // reports bytes that are not UTF-8 instead of replacing them
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
        java.nio.CharBuffer text = java.nio.CharBuffer.allocate(bytes.length);   // UTF-8 never has more chars than bytes
        if (utf8.decode(in, text, true).isError()) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) if (bytes[i] == '\n') line++;
            throw new DatasetException(csv + " line " + line + ": not UTF-8 text (save the file as UTF-8)");
        }
        utf8.flush(text);
        return text.flip().toString().lines().toList();   // line ends \n, \r\n or \r, as Files.readAllLines
    }

    static List<String> split(String line, Path csv, int lineNo) {
        List<String> out = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') { f.append('"'); i++; }
                else if (ch == '"') quoted = false;
                else f.append(ch);
            } else if (ch == '"') quoted = true;
            else if (ch == ',') { out.add(f.toString()); f.setLength(0); }
            else f.append(ch);
        }
        if (quoted) throw new DatasetException(csv + " line " + lineNo + ": unclosed quote");
        out.add(f.toString());
        return out;
    }
}
