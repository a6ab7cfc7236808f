package org.plsc4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.plsc4j.elastic.ExportFormat;
import org.plsc4j.elastic.Jobs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code plsc4j export}: the inference model (backbone, no FC) of a checkpoint. */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Write the inference model (backbone + normalisation, no FC) of a checkpoint.",
        description = {"The output holds model.json and the inference graph (model.fb; with --format onnx also model.onnx);"
                + " `plsc4j test` and the server load it.", ""})
final class ExportCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint-dir", required = true,
            description = "A checkpoint (with manifest.json) or a model_save_dir (its newest checkpoint).")
    Path checkpointDir;

    @Option(names = "--out", required = true, description = "Output directory (new, or an earlier export to replace).")
    Path out;

    @Option(names = "--format", defaultValue = "samediff", paramLabel = "samediff|onnx",
            description = "onnx also writes model.onnx (ONNX Runtime, Triton, TensorRT, OpenVINO, DJL); default: ${DEFAULT-VALUE}.")
    String format;

    @Override
    public Integer call() throws Exception {
        Path written = Jobs.export(checkpointDir, out, null, ExportFormat.parse(format));
        spec.commandLine().getOut().println("exported: " + written);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
