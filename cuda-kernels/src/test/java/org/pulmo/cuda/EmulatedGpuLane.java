package org.pulmo.cuda;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.util.ArrayList;
import java.util.List;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The child JVM of {@link EmulatedGpuLaneTest}: runs the given gpu-tagged test classes (or {@code Class#method}s) with
 * the JUnit Platform's launcher and prints one {@code RESULT} line per test: {@code RESULT SUCCESSFUL|FAILED|ABORTED|SKIPPED
 * class#method ms} followed, for the unsuccessful, by the reason's first lines indented. Exits 0 when every test that
 * ran succeeded and at least one did.
 */
public final class EmulatedGpuLane {
    private EmulatedGpuLane() {}

    public static void main(String[] args) {
        List<DiscoverySelector> selectors = new ArrayList<>();
        for (String a : args) selectors.add(a.contains("#") ? selectMethod(a) : selectClass(a));
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors)
            .filters(TagFilter.includeTags("gpu")).build();
        int[] counts = new int[2];   // succeeded, not succeeded
        TestExecutionListener listener = new TestExecutionListener() {
            private final java.util.Map<String, Long> started = new java.util.HashMap<>();

            @Override public void executionStarted(TestIdentifier id) { started.put(id.getUniqueId(), System.nanoTime()); }

            @Override public void executionSkipped(TestIdentifier id, String reason) {
                if (!id.isTest()) return;
                counts[1]++;
                System.out.println("RESULT SKIPPED " + name(id) + " 0\n    " + reason);
            }

            @Override public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) {
                    // a failure outside a test (a class's set-up) fails its tests without running them
                    if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                        counts[1]++;
                        System.out.println("RESULT " + result.getStatus() + " " + id.getDisplayName() + " 0\n" + reason(result));
                    }
                    return;
                }
                long ms = (System.nanoTime() - started.getOrDefault(id.getUniqueId(), System.nanoTime())) / 1_000_000;
                boolean ok = result.getStatus() == TestExecutionResult.Status.SUCCESSFUL;
                counts[ok ? 0 : 1]++;
                System.out.println("RESULT " + result.getStatus() + " " + name(id) + " " + ms + (ok ? "" : "\n" + reason(result)));
            }
        };
        LauncherFactory.create().execute(request, listener);
        System.out.println("SUMMARY " + counts[0] + " succeeded, " + counts[1] + " did not");
        System.exit(counts[1] == 0 && counts[0] > 0 ? 0 : 1);
    }

    private static String name(TestIdentifier id) {
        return id.getSource().map(s -> s instanceof org.junit.platform.engine.support.descriptor.MethodSource m
            ? m.getClassName().substring(m.getClassName().lastIndexOf('.') + 1) + "#" + m.getMethodName() : s.toString())
            .orElse(id.getDisplayName());
    }

    /** The first lines of why a test did not succeed, indented. */
    private static String reason(TestExecutionResult r) {
        String text = r.getThrowable().map(Throwable::toString).orElse("(no reason given)");
        List<String> lines = text.lines().limit(30).toList();
        return "    " + String.join("\n    ", lines);
    }
}
