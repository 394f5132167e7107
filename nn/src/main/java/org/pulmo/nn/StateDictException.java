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

    /** Entries of each list the message names; the accessors hold them all. */
    static final int NAMED = 5;

    private static String message(String module, List<String> missing, List<String> unexpected, List<String> wrongShape) {
        StringBuilder sb = new StringBuilder("Error(s) loading state dict into ").append(module).append(':');
        if (!missing.isEmpty()) sb.append("\n  missing keys (").append(missing.size()).append("): ").append(firstFew(missing, ", "));
        if (!unexpected.isEmpty()) sb.append("\n  unexpected keys (").append(unexpected.size()).append("): ").append(firstFew(unexpected, ", "));
        if (!wrongShape.isEmpty()) sb.append("\n  shape mismatches (").append(wrongShape.size()).append("):\n    ").append(firstFew(wrongShape, "\n    "));
        return sb.toString();
    }

    /** The first {@link #NAMED} entries and how many more: a checkpoint of another architecture misses hundreds. */
    private static String firstFew(List<String> all, String sep) {
        String named = String.join(sep, all.subList(0, Math.min(NAMED, all.size())));
        return all.size() <= NAMED ? named : named + sep + "... and " + (all.size() - NAMED) + " more";
    }

    public List<String> missing() { return missing; }

    public List<String> unexpected() { return unexpected; }

    public List<String> wrongShape() { return wrongShape; }
}
