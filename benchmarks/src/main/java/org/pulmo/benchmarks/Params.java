package org.pulmo.benchmarks;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * The {@code -p name=value,...} of a command line checked against the benchmark class before JMH forks: JMH itself
 * ignores a name no {@code @Param} has (the defaults then run, for hours where the defaults are the papers' sizes) and
 * reports a bad value as a stack trace from inside each fork. Here a name the class does not have, and a value its
 * field cannot hold, is one line naming both ({@link Mains#refuse}, exit code 2):
 * <ul>
 * <li>an enum field: one of its constants;</li>
 * <li>an int or long field: a whole number of at least 1 (every such parameter is a size or a count);</li>
 * <li>a String field: what the class's own {@link Open} check accepts for it, or else one of the values its
 *   {@code @Param} lists (those are then the values the code handles: a typo would time another path).</li>
 * </ul>
 */
final class Params {
    private Params() {}

    /**
     * A class's check of its String parameters whose values are not a closed list (a shape such as "8x64x56x56", a
     * model name): returns false for a name it leaves to the listed values, else returns true or throws
     * IllegalArgumentException saying why the value is wrong.
     */
    @FunctionalInterface
    interface Open {
        boolean check(String name, String value);

        Open NONE = (name, value) -> false;
    }

    /** Every {@code @Param} field of {@code bench} and of the state classes declared in it, by name. */
    static Map<String, List<Field>> fields(Class<?> bench) {
        Map<String, List<Field>> out = new LinkedHashMap<>();
        collect(bench, out);
        return out;
    }

    private static void collect(Class<?> c, Map<String, List<Field>> out) {
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass())
            for (Field f : k.getDeclaredFields())
                if (f.isAnnotationPresent(Param.class)) {
                    List<Field> same = out.computeIfAbsent(f.getName(), n -> new ArrayList<>());
                    if (!same.contains(f)) same.add(f);
                }
        for (Class<?> inner : c.getDeclaredClasses()) collect(inner, out);
    }

    /** The names given with {@code -p} in {@code args} ("-p name=v1,v2" or "-pname=v1,v2"), in order. */
    static Set<String> namesGiven(String[] args) {
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < args.length; i++) {
            String spec = args[i].equals("-p") && i + 1 < args.length ? args[++i]
                : args[i].startsWith("-p") && !args[i].startsWith("-prof") && args[i].length() > 2 ? args[i].substring(2) : null;
            if (spec == null) continue;
            int eq = spec.indexOf('=');
            names.add((eq < 0 ? spec : spec.substring(0, eq)).trim());
        }
        return names;
    }

    /** Refuses, naming the parameter and the value, any -p of {@code args} that {@code bench} cannot take. */
    static void check(Class<?> bench, String[] args, Open open) throws CommandLineOptionException {
        CommandLineOptions cli = new CommandLineOptions(args);
        Map<String, List<Field>> fields = fields(bench);
        String cls = bench.getSimpleName();
        for (String name : namesGiven(args)) {
            List<Field> fs = fields.get(name);
            if (fs == null)
                throw Mains.refuse("-p " + name + ": " + cls + " has no such parameter (its parameters: " + String.join(", ", fields.keySet())
                    + "); JMH would have run the defaults");
            Collection<String> values = cli.getParameter(name).orElse(List.of());
            if (values.isEmpty()) throw Mains.refuse("-p " + name + ": no value given (-p " + name + "=VALUE[,VALUE...])");
            for (String v : values) checkValue(cls, name, v, fs, open);
        }
    }

    /** {@code v} for the fields named {@code name} (several state classes may share a name, with other types): one must take it. */
    private static void checkValue(String cls, String name, String v, List<Field> fs, Open open) {
        String at = "-p " + name + "=" + v + ": ";
        String why = null;
        for (Field f : fs) {
            String w = refusal(cls, name, v, f, open);
            if (w == null) return;
            if (why == null) why = w;
        }
        throw Mains.refuse(at + why);
    }

    /** Why field {@code f} cannot take {@code v}, or null when it can. */
    private static String refusal(String cls, String name, String v, Field f, Open open) {
        Class<?> type = f.getType();
        if (type.isEnum()) {
            List<String> constants = new ArrayList<>();
            for (Object o : type.getEnumConstants()) constants.add(((Enum<?>) o).name());
            return constants.contains(v) ? null : "not one of " + cls + "'s " + name + "s: " + String.join(", ", constants);
        }
        if (type == int.class || type == long.class) {
            long n;
            try {
                n = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                return "must be a whole number";
            }
            return n < 1 || type == int.class && n > Integer.MAX_VALUE ? "must be a whole number from 1" : null;
        }
        if (type == String.class) {
            try {
                if (open.check(name, v)) return null;
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
            List<String> listed = Arrays.asList(f.getAnnotation(Param.class).value());
            return listed.contains(v) ? null : "not one of " + String.join(", ", listed);
        }
        return null;   // another type: JMH's own conversion
    }
}
