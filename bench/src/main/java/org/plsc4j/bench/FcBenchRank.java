package org.plsc4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.NativeBuild;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.worker.TcpRendezvous;
import org.plsc4j.worker.internal.NettyCollective;

/**
 * One rank of {@code bench fc --processes}, in its own JVM: joins the Netty collective (addresses
 * exchanged through the parent's {@link TcpRendezvous}), builds its PartialFc shard from the same seed
 * (so the inputs and initial weights are the parent's), then runs one step per stdin line
 * {@code step I} and answers with one line {@code PLSC4J-RANK {"ms", "loss", "sampled"}} (the prefix
 * tells the protocol from library chatter), until {@code quit}.
 *
 * <p>Args: classes emb batch workers rank sample_ratio lr seed rendezvous job_id token weights_file|-
 */
public final class FcBenchRank {

    static final String PREFIX = "PLSC4J-RANK ";

    private FcBenchRank() {
    }

    public static void main(String[] args) throws Exception {
        NativeBuild.select(); // the parent passes its choice with -D
        System.setOut(System.err); // library chatter; the protocol goes to the real stdout below
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        int classes = Integer.parseInt(args[0]);
        int emb = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        int workers = Integer.parseInt(args[3]);
        int rank = Integer.parseInt(args[4]);
        double ratio = Double.parseDouble(args[5]);
        double lr = Double.parseDouble(args[6]);
        long seed = Long.parseLong(args[7]);
        String rendezvous = args[8];
        String jobId = args[9];
        String token = args[10];
        String weights = args[11];
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        FcBench.Inputs in = FcBench.inputs(seed, batch, emb, classes);
        int local = batch / workers;
        INDArray x = Nd4j.create(Arrays.copyOfRange(in.features(), rank * local * emb, (rank + 1) * local * emb),
                new long[] {local, emb}, 'c');
        int[] y = Arrays.copyOfRange(in.labels(), rank * local, (rank + 1) * local);
        CollectiveConfig cc = CollectiveConfig.builder().jobId(jobId).token(token).rank(rank).worldSize(workers)
                .timeout(FcBench.COLLECTIVE_TIMEOUT).rendezvous(TcpRendezvous.parse(rendezvous, jobId, token)).build();
        ObjectMapper json = new ObjectMapper();
        try (NettyCollective c = NettyCollective.join(cc)) {
            PartialFc fc = PartialFc.create(FcBench.fcConfig(classes, emb, ratio, seed), c);
            if (!weights.equals("-")) {
                TorchFcBaseline.writeRows(Path.of(weights), fc.weights(), fc.layout().start(rank));
            }
            Map<String, Object> ready = new LinkedHashMap<>();
            ready.put("ready", true);
            ready.put("engine", fc.engine().name().toLowerCase(Locale.ROOT));
            ready.put("transport", c.transport().label());
            out.println(PREFIX + json.writeValueAsString(ready));
            BufferedReader cmd = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = cmd.readLine(); line != null && !line.equals("quit"); line = cmd.readLine()) {
                if (!line.startsWith("step ")) {
                    throw new IllegalArgumentException("command : " + line + " (expected: step I or quit)");
                }
                long step = Long.parseLong(line.substring(5).trim());
                long t0 = System.nanoTime();
                PartialFc.StepResult r = fc.step(x, y, lr, step);
                double ms = Stats.ms(t0, System.nanoTime());
                Sgemm.close(r.featureGrad());
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("ms", ms);
                m.put("loss", r.loss());
                m.put("sampled", r.sampledClasses());
                out.println(PREFIX + json.writeValueAsString(m));
            }
        }
    }
}
