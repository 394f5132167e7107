package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

class StrictJsonTest {
    @Test void readsWhatGsonReads() {
        for (String text : new String[] {
            "{\"a\": 1, \"b\": [1.5, -2e-3, \"x\", null, true, {\"c\": {}}], \"d\": 12345678901234567890}",
            "[]", "3", "\"s\"", "{\"nan\": NaN, \"inf\": -Infinity}", "  {\"a\": {\"a\": {\"a\": 1}}}  "})
            assertEquals(JsonParser.parseString(text), StrictJson.parse(text), text);
        assertEquals(0.25, StrictJson.parse("{\"x\": 0.25}").getAsJsonObject().get("x").getAsDouble());
    }

    @Test void aKeyTwiceInOneObjectIsRefusedWithItsPlace() {
        assertEquals(2, JsonParser.parseString("{\"a\": 1, \"a\": 2}").getAsJsonObject().get("a").getAsInt());   // what Gson does
        JsonParseException top = assertThrows(JsonParseException.class, () -> StrictJson.parse("{\"a\": 1, \"b\": 0, \"a\": 2}"));
        assertTrue(top.getMessage().contains("the key 'a' appears twice"), top.getMessage());
        JsonParseException inner = assertThrows(JsonParseException.class,
            () -> StrictJson.parse("{\"data\": [{\"source\": \"x\"}, {\"source\": \"y\", \"source\": \"z\"}]}"));
        assertTrue(inner.getMessage().contains("'source'") && inner.getMessage().contains("$.data[1]"), inner.getMessage());
        // the same key in two objects is fine
        assertEquals(2, StrictJson.parse("[{\"a\": 1}, {\"a\": 2}]").getAsJsonArray().size());
    }

    @Test void notJsonIsAParseException() {
        for (String bad : new String[] {"", "{", "{\"a\": }", "{\"a\": 1} {\"b\": 2}", "[1, 2"})
            assertThrows(JsonParseException.class, () -> StrictJson.parse(bad), bad);
    }
}
