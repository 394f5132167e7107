package org.pulmo.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.internal.LazilyParsedNumber;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;

/**
 * JSON as Pulmo's own files hold it, read back: like {@code JsonParser.parseString} (lenient, so that NaN reads),
 * except that an object naming one key twice is refused, and so is an empty document (Gson gives JsonNull). Gson keeps
 * the last of two values of a key, so a file edited by hand, or two files pasted together, would be read as half of
 * each without a word.
 */
public final class StrictJson {
    private StrictJson() {}

    /** The value {@code text} holds; a JsonParseException where it is not JSON, names a key twice or goes on past its value. */
    public static JsonElement parse(String text) {
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.setStrictness(Strictness.LENIENT);
            JsonElement e = value(r);
            if (r.peek() != JsonToken.END_DOCUMENT) throw new JsonParseException("more after the JSON value, at " + r.getPath());
            return e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {   // MalformedJsonException and EOFException are IOExceptions
            throw new JsonParseException(e.getMessage() == null ? "not JSON" : e.getMessage(), e);
        }
    }

    private static JsonElement value(JsonReader r) throws IOException {
        return switch (r.peek()) {
            case BEGIN_OBJECT -> {
                JsonObject o = new JsonObject();
                r.beginObject();
                while (r.hasNext()) {
                    String key = r.nextName();
                    if (o.has(key)) throw new JsonParseException("the key '" + key + "' appears twice in one object, at " + r.getPath());
                    o.add(key, value(r));
                }
                r.endObject();
                yield o;
            }
            case BEGIN_ARRAY -> {
                JsonArray a = new JsonArray();
                r.beginArray();
                while (r.hasNext()) a.add(value(r));
                r.endArray();
                yield a;
            }
            case STRING -> new JsonPrimitive(r.nextString());
            case NUMBER -> new JsonPrimitive(new LazilyParsedNumber(r.nextString()));
            case BOOLEAN -> new JsonPrimitive(r.nextBoolean());
            case NULL -> { r.nextNull(); yield JsonNull.INSTANCE; }
            default -> throw new JsonParseException("expected a value at " + r.getPath() + ", found " + r.peek());
        };
    }
}
