package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.plsc4j.Entry;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.worker.MetricsLog;
import org.plsc4j.worker.Trainer;

/**
 * Tiny real runs: every loss type learns and verifies above chance; worker processes through the
 * launcher; export and test; the promised errors for bad data and a corrupted checkpoint.
 */
class TrainingEndToEndTest {

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        org.plsc4j.data.DatasetGenerator.generate(org.plsc4j.data.GeneratorOptions.of(data, 40, 8).withImageSize(16)
                .withPairs(200).withSeed(3));
    }

    static Entry tiny(Path save) {
        return tiny(data, save);
    }

    /** The tiny job (40 classes of 16x16 images, mlp, emb 32, 3 epochs, seed 5) on a generated data set. */
    static Entry tiny(Path data, Path save) {
        return new Entry().setDatasetDir(data.toString()).setModelSaveDir(save.toString()).setClassNum(40)
                .setEmbSize(32).setImageShape(3, 16, 16).set("model_name", "mlp").setTrainBatchSize(32)
                .setTrainEpochs(3).setLr(0.2).set("scale_lr_by_batch", false).setLrSteps(1000).setScale(16)
                .setValTargets("synth").setTestBatchSize(50).setLogPeriod(2).setSeed(5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"softmax", "dist_softmax", "arcface", "dist_arcface", "dist_cosface", "combined"})
    void everyLossTypeLearnsAndVerifiesAboveChance(String lossType) throws Exception {
        Path save = dir.resolve("loss-" + lossType);
        Entry e = tiny(save).setLossType(lossType).setMargin(lossType.contains("cosface") ? 0.2 : 0.3);
        if (lossType.equals("combined")) {
            e.setLossType(1.0, 0.2, 0.1);
        }
        TrainConfig cfg = e.config();
        Trainer.Summary s = Jobs.trainInProcess(cfg, null, null);
        List<Double> l = s.losses();
        double first = l.subList(0, 3).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = l.subList(l.size() - 3, l.size()).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertTrue(last < 0.8 * first, lossType + ": loss " + first + " -> " + last);
        MetricsLog.EvalResult r = s.lastEval().get("synth");
        assertTrue(r.accuracy() > 0.7, lossType + ": verification accuracy " + r.accuracy());
        // metrics.jsonl: train lines, one eval line per epoch, a checkpoint per epoch; the curves picture
        List<String> lines = Files.readAllLines(save.resolve("metrics.jsonl"));
        ObjectMapper m = new ObjectMapper();
        long evals = lines.stream().map(x -> read(m, x)).filter(j -> j.get("event").asText().equals("eval")).count();
        long trains = lines.stream().map(x -> read(m, x)).filter(j -> j.get("event").asText().equals("train")).count();
        assertEquals(3, evals);
        assertTrue(trains >= 3, "train lines: " + trains);
        assertTrue(Files.size(save.resolve(Trainer.CURVES_PNG)) > 1000);
        assertTrue(Files.isRegularFile(save.resolve("2").resolve("manifest.json")));
    }

    private static JsonNode read(ObjectMapper m, String line) {
        try {
            return m.readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void workerProcessesTrainExportAndTest() throws Exception {
        Path save = dir.resolve("procs");
        Entry e = tiny(save).setTrainEpochs(1).setWorkers(2).setCalcAcc(true);
        e.train();
        Checkpoint ck = Checkpoint.open(save.resolve("0"));
        assertEquals(2, ck.layout().worldSize());
        assertEquals(40, ck.numClasses());
        ck.verifyAll();
        JsonNode train = null;
        for (String line : Files.readAllLines(save.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.get("event").asText().equals("train")) {
                train = n;
                break;
            }
        }
        assertNotNull(train, "a train event in metrics.jsonl");
        assertEquals(2, train.get("world_size").asInt());
        assertTrue(train.has("acc1"), train.toString());
        // export, then test the exported model and the checkpoint: the same embeddings, the same numbers
        Path exported = tiny(save).setCheckpointDir(save.toString()).convertForPrediction();
        assertTrue(Files.isRegularFile(exported.resolve(Jobs.MODEL_JSON)));
        Map<String, MetricsLog.EvalResult> fromExport = tiny(save).setCheckpointDir(exported.toString()).test();
        Map<String, MetricsLog.EvalResult> fromCheckpoint = tiny(save).setCheckpointDir(save.resolve("0").toString()).test();
        assertEquals(fromCheckpoint.get("synth").accuracy(), fromExport.get("synth").accuracy(), 1e-9);
    }

    @Test
    void aFailingWorkerStopsTheJobNamingIt() throws Exception {
        Path bad = dir.resolve("bad-data");
        org.plsc4j.data.DatasetGenerator.generate(org.plsc4j.data.GeneratorOptions.of(bad, 10, 4).withImageSize(16)
                .withSeed(9));
        List<String> lines = Files.readAllLines(bad.resolve("label.txt"));
        lines.set(6, lines.get(6).replaceAll(" \\d+$", " 99"));
        Files.write(bad.resolve("label.txt"), lines);
        Entry e = tiny(dir.resolve("bad-out")).setDatasetDir(bad.toString()).setClassNum(10).setWithTest(false)
                .setTrainBatchSize(4).setWorkers(2);
        IllegalStateException ex = assertThrows(IllegalStateException.class, e::train);
        assertTrue(ex.getMessage().matches("worker [01] exited with code 1: .*label.txt:7: label : 99 .*"),
                ex.getMessage());
    }

    @Test
    void aCorruptedShardIsNamedOnWarmStart() throws Exception {
        Path save = dir.resolve("corrupt");
        Jobs.trainInProcess(tiny(save).setTrainEpochs(1).setWithTest(false).config(), null, null);
        Path shard = save.resolve("0").resolve("fc").resolve("rank-00000-weights.npy");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.seek(f.length() - 5);
            int b = f.read();
            f.seek(f.length() - 5);
            f.write(b ^ 0x40);
        }
        TrainConfig resume = tiny(dir.resolve("corrupt-resume")).setTrainEpochs(2).setWithTest(false)
                .setCheckpointDir(save.resolve("0").toString()).config();
        Exception ex = assertThrows(Exception.class, () -> Jobs.trainInProcess(resume, null, null));
        assertTrue(ex.getMessage().contains("rank-00000-weights.npy"), ex.getMessage());
    }
}
