package org.pulmo.examples;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "explain", mixinStandardHelpOptions = true, description = "Grad-CAM and LIME heatmaps.")
public final class ExplainCommand implements Callable<Integer> {
    @Override public Integer call() { return 1; }
}
