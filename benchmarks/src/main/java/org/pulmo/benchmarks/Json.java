package org.pulmo.benchmarks;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;

/**
 * Reads the JSON of benchmark results (JMH's {@code -rf json}, PyTorch's reference {@code torch_ref.json}) with Gson
 * into {@code Map}, {@code List}, {@code String}, {@code Double}, {@code Boolean} and null. Lenient, because Python's
 * {@code json.dump} writes bare {@code NaN}, {@code Infinity} and {@code -Infinity}: those come back as the strings
 * {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}, which {@link Double#parseDouble} reads.
 */
final class Json {
    private Json() {}

    private static final Gson GSON = new GsonBuilder().setStrictness(Strictness.LENIENT).create();

    /** The parsed value; malformed or truncated text is an IllegalArgumentException saying where. */
    static Object parse(String text) {
        try {
            return GSON.fromJson(text, Object.class);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("JSON: " + e.getMessage(), e);
        }
    }

    /** A number of the parsed JSON: a Double, or one of the strings a bare NaN or infinity became. */
    static double number(Object o) {
        if (o instanceof Double d) return d;
        if (o instanceof String s) return Double.parseDouble(s);
        throw new IllegalArgumentException("not a number: " + o);
    }
}
