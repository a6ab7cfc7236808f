package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** A PLSC job's keys mean what they mean in PLSC (each test quotes the PLSC line it follows). */
class PlscConfigTest {

    @TempDir
    Path dir;

    /** PLSC's defaults table (000): "model_name | 使用的模型的名称 | 'RestNet50'": its own spelling is ResNet50, with a warning. */
    @Test
    void plscsRestNet50SpellingIsResNet50WithAWarning() {
        Logger log = (Logger) LoggerFactory.getLogger(TrainConfig.class);
        ListAppender<ILoggingEvent> capture = new ListAppender<>();
        capture.start();
        log.addAppender(capture);
        TrainConfig c;
        try {
            c = TrainConfigs.load(null, List.of("model_name=RestNet50"));
        } finally {
            log.detachAppender(capture);
        }
        assertEquals("ResNet50", c.modelName());
        assertTrue(capture.list.stream().anyMatch(e -> e.getLevel() == Level.WARN
                && e.getFormattedMessage().equals("model_name : RestNet50 (PLSC's spelling in its defaults) is taken as"
                        + " ResNet50")), String.valueOf(capture.list));
    }

    /** PLSC's set_image_shape: "设置图像尺寸，格式为CHW，类型为元组或列表" — a tuple or list; a job file may quote it. */
    @Test
    void imageShapeMayBeAStringAsInPlscJobs() throws Exception {
        Path f = dir.resolve("job.yaml");
        Files.writeString(f, "image_shape: \"3,96,80\"\n");
        assertEquals(List.of(3, 96, 80), TrainConfigs.load(f, List.of()).imageShape());
        assertEquals(List.of(3, 64, 64), TrainConfigs.load(null, List.of("image_shape=(3, 64, 64)")).imageShape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.load(null, List.of("image_shape=3,x,64")));
        assertEquals("image_shape : \"3,x,64\" (expected: [3, H, W], a list or a string such as \"3,112,112\")",
                e.getMessage());
    }

    /**
     * PLSC's set_train_batch_size is per GPU ("当使用8张GPU时，每张GPU卡上的batch size为128");
     * batch_size_per_worker has that meaning, train_batch_size stays the global batch.
     */
    @Test
    void batchSizePerWorkerIsPlscsPerDeviceBatch() {
        TrainConfig c = TrainConfigs.bind(TrainConfigs.merged(Map.of("batch_size_per_worker", 128)), "job.yaml");
        assertEquals(1024, c.globalBatchSize(8));
        assertEquals(1024, TrainConfigs.withWorkers(c, 8).trainBatchSize());
        assertEquals(128, TrainConfigs.withWorkers(c, 1).trainBatchSize());
        TrainConfig plain = TrainConfigs.load(null, List.of("train_batch_size=512"));
        assertEquals(512, plain.globalBatchSize(8), "train_batch_size is already global");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.load(null, List.of("batch_size_per_worker=0")));
        assertEquals("--set: batch_size_per_worker : 0 (expected: > 0)", e.getMessage());
    }

    /**
     * set_distfc_attr's initializer: PLSC's default {@code Normal(scale=stdv)}, {@code stdv = math.sqrt(2.0 /
     * (in_dim + self.nclasses))}; fc_init_std overrides it.
     */
    @Test
    void fcInitStdDefaultsToPlscsAndCanBeSet() {
        TrainConfig c = TrainConfigs.load(null, List.of("emb_size=128", "num_classes=1000"));
        assertEquals(Math.sqrt(2.0 / (128 + 1000)), c.fcConfig().initStd(), 1e-15);
        assertEquals(0.05, TrainConfigs.load(null, List.of("fc_init_std=0.05")).fcConfig().initStd());
        assertEquals("--set: fc_init_std : -1.0 (expected: a finite value > 0, or null for PLSC's sqrt(2 / (emb_size +"
                + " num_classes)))", assertThrows(IllegalArgumentException.class,
                        () -> TrainConfigs.load(null, List.of("fc_init_std=-1.0"))).getMessage());
    }

    /**
     * The seed's LargeScaleClassifier: {@code self.num_local: int = (num_classes + world_size - 1) // world_size};
     * {@code if num_classes % world_size != 0 and rank == world_size - 1: self.num_local = num_classes %
     * self.num_local} — PLSC's split is the ceil layout (balanced is insightface's).
     */
    @Test
    void plscsClassSplitIsTheCeilLayout() {
        for (int[] cw : new int[][] {{85742, 8}, {10, 4}, {1000, 3}, {7, 7}, {100, 1}}) {
            int c = cw[0];
            int n = cw[1];
            ClassLayout l = ClassLayout.ceil(c, n);
            for (int rank = 0; rank < n; rank++) {
                int numLocal = (c + n - 1) / n;
                if (c % n != 0 && rank == n - 1) {
                    numLocal = c % numLocal;
                }
                assertEquals(numLocal, l.size(rank), "C=" + c + " N=" + n + " rank " + rank);
            }
        }
    }

    /** cosine_softmax keeps the normalised, scaled softmax that loss_type softmax computed before. */
    @Test
    void cosineSoftmaxIsTheNormalisedVariant() {
        TrainConfig c = TrainConfigs.load(null, List.of("loss_type=dist_cosine_softmax", "scale=30", "sample_ratio=0.5"));
        assertEquals(FcHead.COSINE_MARGIN, c.fcHead());
        assertEquals(MarginConfig.softmax(30), c.marginConfig());
        assertEquals(0.5, c.fcConfig().sampleRatio());
    }
}
