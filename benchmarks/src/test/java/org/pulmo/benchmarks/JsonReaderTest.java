package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonReaderTest {

    @Test void readsObjectsArraysNumbersAndPythonsNaN() {
        Map<?, ?> m = (Map<?, ?>) JsonReader.parse(" {\"a\": [1, -2.5e3, true, null], \"s\": \"x\\\"y\\u00e9\\n\", \"n\": NaN, \"i\": -Infinity, \"e\": {}} ");
        assertEquals(List.of(1.0, -2500.0, true), ((List<?>) m.get("a")).subList(0, 3));
        assertNull(((List<?>) m.get("a")).get(3));
        assertEquals("x\"y\u00e9\n", m.get("s"));
        assertTrue(Double.isNaN((Double) m.get("n")));
        assertEquals(Double.NEGATIVE_INFINITY, m.get("i"));
        assertEquals(Map.of(), m.get("e"));
    }

    @Test void errorsNameThePosition() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("[1, 2"));
        assertTrue(e.getMessage().contains("character 5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("{\"a\" 1}"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("[1] x"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("\"open"));
    }
}
