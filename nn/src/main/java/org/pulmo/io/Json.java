package org.pulmo.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The little JSON a safetensors header needs: a strict recursive-descent parser (RFC 8259) into
 * {@code Map<String, Object>} (insertion ordered), {@code List<Object>}, {@code String}, {@code Long} (integers),
 * {@code Double} (other numbers), {@code Boolean} and {@code null}; and a string quoter for writing. Every
 * error, including nesting deeper than {@link #MAX_DEPTH} and duplicate keys, is a {@link JsonException} with
 * the character position; the parser never indexes outside its input.
 */
final class Json {
    static final int MAX_DEPTH = 64;

    static final class JsonException extends Exception {
        JsonException(String message, int pos) { super(message + " at character " + pos); }
    }

    private final String s;
    private int pos;

    private Json(String s) { this.s = s; }

    static Object parse(String text) throws JsonException {
        Json p = new Json(text);
        p.skipWs();
        Object v = p.value(0);
        p.skipWs();
        if (p.pos != p.s.length()) throw new JsonException("unexpected text after the JSON value", p.pos);
        return v;
    }

    private void skipWs() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++;
            else break;
        }
    }

    private char peek() throws JsonException {
        if (pos >= s.length()) throw new JsonException("unexpected end of JSON", pos);
        return s.charAt(pos);
    }

    private void expect(char c) throws JsonException {
        if (peek() != c) throw new JsonException("expected '" + c + "' but found '" + printable(s.charAt(pos)) + "'", pos);
        pos++;
    }

    private static String printable(char c) { return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format(java.util.Locale.ROOT, "\\u%04x", (int) c); }

    /** s with every character outside printable ASCII written as a \\uXXXX escape, for messages. */
    static String ascii(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) sb.append(printable(s.charAt(i)));
        return sb.toString();
    }

    private Object value(int depth) throws JsonException {
        if (depth > MAX_DEPTH) throw new JsonException("JSON nested deeper than " + MAX_DEPTH + " levels", pos);
        char c = peek();
        switch (c) {
            case '{': return object(depth);
            case '[': return array(depth);
            case '"': return string();
            case 't': literal("true"); return Boolean.TRUE;
            case 'f': literal("false"); return Boolean.FALSE;
            case 'n': literal("null"); return null;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return number();
                throw new JsonException("unexpected character '" + printable(c) + "'", pos);
        }
    }

    private void literal(String word) throws JsonException {
        if (!s.startsWith(word, pos)) throw new JsonException("invalid literal (expected " + word + ")", pos);
        pos += word.length();
    }

    private Map<String, Object> object(int depth) throws JsonException {
        expect('{');
        Map<String, Object> m = new LinkedHashMap<>();
        skipWs();
        if (peek() == '}') { pos++; return m; }
        while (true) {
            skipWs();
            int keyPos = pos;
            if (peek() != '"') throw new JsonException("expected a string key", pos);
            String key = string();
            if (m.containsKey(key)) throw new JsonException("duplicate key \"" + key + "\"", keyPos);
            skipWs();
            expect(':');
            skipWs();
            m.put(key, value(depth + 1));
            skipWs();
            char c = peek();
            pos++;
            if (c == '}') return m;
            if (c != ',') throw new JsonException("expected ',' or '}' in object", pos - 1);
        }
    }

    private List<Object> array(int depth) throws JsonException {
        expect('[');
        List<Object> l = new ArrayList<>();
        skipWs();
        if (peek() == ']') { pos++; return l; }
        while (true) {
            skipWs();
            l.add(value(depth + 1));
            skipWs();
            char c = peek();
            pos++;
            if (c == ']') return l;
            if (c != ',') throw new JsonException("expected ',' or ']' in array", pos - 1);
        }
    }

    private String string() throws JsonException {
        expect('"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            char c = peek();
            pos++;
            if (c == '"') return sb.toString();
            if (c < 0x20) throw new JsonException("control character in string", pos - 1);
            if (c != '\\') { sb.append(c); continue; }
            char e = peek();
            pos++;
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (pos + 4 > s.length()) throw new JsonException("truncated \\u escape", pos);
                    int cp = 0;
                    for (int i = 0; i < 4; i++) {
                        int d = Character.digit(s.charAt(pos + i), 16);
                        if (d < 0) throw new JsonException("invalid hex digit in \\u escape", pos + i);
                        cp = cp * 16 + d;
                    }
                    pos += 4;
                    sb.append((char) cp);
                }
                default -> throw new JsonException("invalid escape '\\" + printable(e) + "'", pos - 1);
            }
        }
    }

    private Object number() throws JsonException {
        int start = pos;
        boolean integral = true;
        if (peek() == '-') pos++;
        if (pos < s.length() && s.charAt(pos) == '0') pos++;
        else digits();
        if (pos < s.length() && s.charAt(pos) == '.') { integral = false; pos++; digits(); }
        if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            integral = false;
            pos++;
            if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
            digits();
        }
        String t = s.substring(start, pos);
        if (integral) {
            // at most 18 digits always fits a long; longer integers are out of range for any size here
            if (t.length() - (t.startsWith("-") ? 1 : 0) > 18) throw new JsonException("integer " + t + " out of range", start);
            return Long.parseLong(t);
        }
        return Double.parseDouble(t);
    }

    private void digits() throws JsonException {
        int start = pos;
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') pos++;
        if (pos == start) throw new JsonException("expected a digit", pos);
    }

    /** s as a JSON string literal. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}
