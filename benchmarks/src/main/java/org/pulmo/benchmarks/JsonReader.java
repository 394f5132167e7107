package org.pulmo.benchmarks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the JSON of benchmark results (JMH's {@code -rf json}, PyTorch's reference {@code torch_ref.json}) into
 * {@code Map<String, Object>}, {@code List<Object>}, {@code String}, {@code Double}, {@code Boolean} and null.
 * Accepts Python's bare {@code NaN}, {@code Infinity} and {@code -Infinity}, which {@code json.dump} writes.
 * Errors name the character position.
 */
final class JsonReader {
    private final String s;
    private int pos;

    private JsonReader(String s) { this.s = s; }

    static Object parse(String text) {
        JsonReader r = new JsonReader(text);
        Object v = r.value();
        r.ws();
        if (r.pos != r.s.length()) throw r.error("unexpected text after the JSON value");
        return v;
    }

    private IllegalArgumentException error(String what) { return new IllegalArgumentException("JSON: " + what + " at character " + pos); }

    private void ws() { while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++; }

    private boolean take(String word) {
        if (!s.startsWith(word, pos)) return false;
        pos += word.length();
        return true;
    }

    private Object value() {
        ws();
        if (pos >= s.length()) throw error("unexpected end");
        char c = s.charAt(pos);
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return string();
        if (take("true")) return Boolean.TRUE;
        if (take("false")) return Boolean.FALSE;
        if (take("null")) return null;
        if (take("NaN")) return Double.NaN;
        if (take("Infinity")) return Double.POSITIVE_INFINITY;
        if (take("-Infinity")) return Double.NEGATIVE_INFINITY;
        return number();
    }

    private Map<String, Object> object() {
        Map<String, Object> m = new LinkedHashMap<>();
        pos++;
        ws();
        if (take("}")) return m;
        while (true) {
            ws();
            if (pos >= s.length() || s.charAt(pos) != '"') throw error("expected a key");
            String k = string();
            ws();
            if (!take(":")) throw error("expected ':'");
            m.put(k, value());
            ws();
            if (take("}")) return m;
            if (!take(",")) throw error("expected ',' or '}'");
        }
    }

    private List<Object> array() {
        List<Object> l = new ArrayList<>();
        pos++;
        ws();
        if (take("]")) return l;
        while (true) {
            l.add(value());
            ws();
            if (take("]")) return l;
            if (!take(",")) throw error("expected ',' or ']'");
        }
    }

    private String string() {
        StringBuilder b = new StringBuilder();
        pos++;
        while (pos < s.length()) {
            char c = s.charAt(pos++);
            if (c == '"') return b.toString();
            if (c != '\\') { b.append(c); continue; }
            if (pos >= s.length()) break;
            char e = s.charAt(pos++);
            switch (e) {
                case 'n' -> b.append('\n');
                case 't' -> b.append('\t');
                case 'r' -> b.append('\r');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'u' -> {
                    if (pos + 4 > s.length()) throw error("short \\u escape");
                    b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                    pos += 4;
                }
                default -> b.append(e);   // \" \\ \/
            }
        }
        throw error("unterminated string");
    }

    private Double number() {
        int start = pos;
        while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) pos++;
        if (start == pos) throw error("unexpected character '" + s.charAt(pos) + "'");
        try {
            return Double.parseDouble(s.substring(start, pos));
        } catch (NumberFormatException e) {
            pos = start;
            throw error("bad number");
        }
    }
}
