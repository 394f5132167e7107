package org.pulmo.nn;

import java.util.List;

/** A state dict that does not fit a module; the message lists every missing, unexpected and wrongly shaped entry. */
public final class StateDictException extends IllegalArgumentException {
    private final List<String> missing, unexpected, wrongShape;

    public StateDictException(String module, List<String> missing, List<String> unexpected, List<String> wrongShape) {
        super(message(module, missing, unexpected, wrongShape));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.wrongShape = List.copyOf(wrongShape);
    }

    private static String message(String module, List<String> missing, List<String> unexpected, List<String> wrongShape) {
        StringBuilder sb = new StringBuilder("Error(s) loading state dict into ").append(module).append(':');
        if (!missing.isEmpty()) sb.append("\n  missing keys (").append(missing.size()).append("): ").append(String.join(", ", missing));
        if (!unexpected.isEmpty()) sb.append("\n  unexpected keys (").append(unexpected.size()).append("): ").append(String.join(", ", unexpected));
        if (!wrongShape.isEmpty()) sb.append("\n  shape mismatches (").append(wrongShape.size()).append("):\n    ").append(String.join("\n    ", wrongShape));
        return sb.toString();
    }

    public List<String> missing() { return missing; }

    public List<String> unexpected() { return unexpected; }

    public List<String> wrongShape() { return wrongShape; }
}
