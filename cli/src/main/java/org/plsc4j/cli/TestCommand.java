package org.plsc4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.elastic.Jobs;
import org.plsc4j.worker.MetricsLog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code plsc4j test}: verification accuracy of a checkpoint or an exported model. */
@Command(name = "test", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Evaluate a checkpoint or an exported model on the val_targets .bin sets.",
        description = {
            "10-fold accuracy and VAL@FAR=1e-3 as insightface/PLSC compute them (image + flipped image embeddings "
                + "summed and L2-normalised). The sets are dataset_dir/<target>.bin.",
            ""})
final class TestCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    JobOptions job;

    @Option(names = "--checkpoint-dir", required = true,
            description = "A checkpoint (with manifest.json), a model_save_dir (its newest checkpoint) or an exported model.")
    Path checkpointDir;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<String> more = new ArrayList<>();
        more.add("checkpoint_dir=" + checkpointDir);
        TrainConfig cfg = job.load(more);
        Map<String, MetricsLog.EvalResult> results = Jobs.test(cfg, null);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(results));
        } else {
            results.forEach((name, r) -> out.printf(Locale.ROOT, "%-10s accuracy %.4f +- %.4f  VAL %.4f +- %.4f @ FAR %.5f"
                    + "  (%d pairs)%n", name, r.accuracy(), r.accuracyStd(), r.val(), r.valStd(), r.far(), r.pairs()));
        }
        out.flush();
        return 0;
    }
}
