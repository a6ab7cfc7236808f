package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.Entry;
import org.plsc4j.core.MarginConfig;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.worker.Optimizer;

/** Entry's setters write PLSC's keys; what the YAML path rejects, Entry rejects with the same words. */
class EntryTest {

    @Test
    void settersWriteTheKeysOfTheSameName() {
        TrainConfig c = new Entry().setTrainBatchSize(256).setTestBatchSize(60).setDatasetDir("/d").setTrainImageNum(1000)
                .setTrainEpochs(7).setWarmupEpochs(1).setLr(0.2).setLrSteps(10, 20).setValTargets("lfw,cfp_fp,agedb_30")
                .setWithTest(false).setModelSaveDir("/o").setCheckpointDir("/c").setLossType("dist_cosface")
                .setMargin(0.35).setScale(30).setEmbSize(256).setClassNum(1000).setImageShape(3, 96, 96)
                .setSampleRatio(0.1).setCalcAcc(true).setSeed(9).setDistfcAttr(1e-4).config();
        assertEquals(256, c.trainBatchSize());
        assertEquals(60, c.testBatchSize());
        assertEquals("/d", c.datasetDir());
        assertEquals(1000, c.trainImageNum());
        assertEquals(7, c.trainEpochs());
        assertEquals(1.0, c.warmupEpochs());
        assertEquals(List.of(10L, 20L), c.lrSteps());
        assertEquals(List.of("lfw", "cfp_fp", "agedb_30"), c.valTargets());
        assertEquals("/c", c.checkpointDir());
        assertEquals(MarginConfig.cosface(0.35, 30), c.marginConfig());
        assertEquals(List.of(3, 96, 96), c.imageShape());
        assertEquals(0.1, c.sampleRatio());
        assertEquals(1e-4, c.fcConfig().weightDecay());
        assertEquals(5e-4, c.weightDecay());
        assertEquals(MarginConfig.combined(1.0, 0.3, 0.2, 30), new Entry().setScale(30).setLossType(1.0, 0.3, 0.2)
                .config().marginConfig());
    }

    /**
     * PLSC's {@code set_distfc_attr(param_attr, bias_attr)} ("设置最后一层FC的W和b参数的属性信息"): the initializer
     * and the regularizer; PLSC's {@code set_train_batch_size} per GPU as batch_size_per_worker.
     */
    @Test
    void distfcAttrAndPerWorkerBatchTakePlscsMeaning() {
        TrainConfig c = new Entry().setDistfcAttr(0.02, 1e-3).setBatchSizePerWorker(128).setEmbSize(64)
                .setClassNum(500).setLossType("dist_softmax").config();
        assertEquals(0.02, c.fcConfig().initStd());
        assertEquals(1e-3, c.fcConfig().weightDecay());
        assertEquals(1024, c.globalBatchSize(8));
        assertTrue(c.fcConfig().hasBias(), "dist_softmax is PLSC's FC with W and b");
        assertEquals(Math.sqrt(2.0 / (64 + 500)), new Entry().setEmbSize(64).setClassNum(500).config().fcConfig()
                .initStd(), 1e-15, "PLSC's default initializer: stdv = math.sqrt(2.0 / (in_dim + self.nclasses))");
    }

    @Test
    void mixedPrecisionTakesPlscsSevenParametersAndTheFcDtype() {
        TrainConfig c = new Entry().setMixedPrecision(true, 1024, 500, 3, 4.0, 0.25, true, List.of("fc_weights"))
                .config();
        assertTrue(c.useFp16());
        assertEquals(1024.0, c.initLossScaling());
        assertEquals(500, c.incrEveryNSteps());
        assertEquals(3, c.decrEveryNNanOrInf());
        assertEquals(4.0, c.incrRatio());
        assertEquals(0.25, c.decrRatio());
        assertEquals(org.plsc4j.core.FcDtype.FLOAT16, c.fcWeightsDtype());
        assertEquals(org.plsc4j.core.FcDtype.FLOAT32, c.fcMomentumDtype());
        TrainConfig d = new Entry().setMixedPrecision(true).setFcDtype("bfloat16").config();
        assertEquals(1.0, d.initLossScaling());
        assertEquals(2000, d.incrEveryNSteps());
        assertEquals(org.plsc4j.core.FcDtype.BFLOAT16, d.fcMomentumDtype());
    }

    @Test
    void unsupportedAndBadSettingsAreNamed() {
        IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class,
                () -> new Entry().setMixedPrecision(true).setFcDtype("fp8").config());
        assertTrue(dtype.getMessage().contains("fc_dtype : fp8 (expected: one of [float32, float16, bfloat16])"),
                dtype.getMessage());
        TrainConfig hdfs = new Entry().setHdfsInfo("hdfs://nn:9000", "u,p", "/save", "/ckpt")
                .setCheckpointDir("./warm").config();
        assertEquals("hdfs://nn:9000", hdfs.fsName());
        assertTrue(hdfs.hdfsUpload() && hdfs.hdfsDownload());
        IllegalArgumentException ugi = assertThrows(IllegalArgumentException.class,
                () -> new Entry().setHdfsInfo("hdfs://nn:9000", "nopassword", null, null).config());
        assertTrue(ugi.getMessage().contains("fs_ugi : nopassword (expected: \"user,password\""), ugi.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> new Entry().set("sample_rate", 0.1).config());
        assertTrue(unknown.getMessage().contains("unknown key 'sample_rate'"), unknown.getMessage());
        IllegalArgumentException ratio = assertThrows(IllegalArgumentException.class,
                () -> new Entry().setSampleRatio(0).config());
        assertTrue(ratio.getMessage().contains("sample_ratio : 0.0 (expected: 0 < x <= 1)"), ratio.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Entry().setWorkers(0));
    }

    @Test
    void aCustomOptimizerForWorkerProcessesNeedsAPublicNoArgConstructor() {
        Optimizer anonymous = new Optimizer() {
            @Override
            public void step(Map<String, INDArray> params, Map<String, INDArray> grads, double lr) {
            }

            @Override
            public Map<String, INDArray> state() {
                return Map.of();
            }

            @Override
            public void loadState(Map<String, INDArray> state) {
            }
        };
        Entry e = new Entry().setOptimizer(anonymous).setWorkers(2).setWithTest(false);
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e::train);
        assertTrue(ex.getMessage().startsWith("setOptimizer : "), ex.getMessage());
    }
}
