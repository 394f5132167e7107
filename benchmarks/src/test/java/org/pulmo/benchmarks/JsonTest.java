package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test void readsObjectsArraysNumbersAndPythonsNaN() {
        Map<?, ?> m = (Map<?, ?>) Json.parse(" {\"a\": [1, -2.5e3, true, null], \"s\": \"x\\\"y\\u00e9\\n\", \"n\": NaN, \"i\": -Infinity, \"e\": {}} ");
        assertEquals(List.of(1.0, -2500.0, true), ((List<?>) m.get("a")).subList(0, 3));
        assertNull(((List<?>) m.get("a")).get(3));
        assertEquals("x\"y\u00e9\n", m.get("s"));
        assertTrue(Double.isNaN(Json.number(m.get("n"))));
        assertEquals(Double.NEGATIVE_INFINITY, Json.number(m.get("i")));
        assertEquals(-2500.0, Json.number(((List<?>) m.get("a")).get(1)));
        assertEquals(Map.of(), m.get("e"));
    }

    @Test void malformedOrTruncatedTextIsAnErrorSayingWhere() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("[1, 2"));
        assertTrue(e.getMessage().contains("column"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\" 1}"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("[1] x"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("\"open"));
        assertThrows(IllegalArgumentException.class, () -> Json.number(true));
    }

    /** A key absent from the JSON (get gives null) is not a number: an error, never a silent NaN in a table. */
    @Test void aMissingValueIsNotANumber() {
        assertThrows(IllegalArgumentException.class, () -> Json.number(null));
        assertThrows(IllegalArgumentException.class, () -> Json.number(((Map<?, ?>) Json.parse("{\"a\": 1}")).get("median_ms")));
    }
}
