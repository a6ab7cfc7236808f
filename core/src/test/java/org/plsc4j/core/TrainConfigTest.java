package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainConfigTest {

    @TempDir
    Path dir;

    @Test
    void defaultsArePlscs() {
        TrainConfig c = TrainConfigs.defaultConfig();
        assertEquals(128, c.trainBatchSize());
        assertEquals(120, c.testBatchSize());
        assertEquals(0.1, c.lr());
        assertEquals(List.of(100000L, 160000L, 220000L), c.lrSteps());
        assertEquals(0.5, c.margin());
        assertEquals(64.0, c.scale());
        assertEquals(512, c.embSize());
        assertEquals(85742, c.numClasses());
        assertEquals(List.of(3, 112, 112), c.imageShape());
        assertEquals("dist_arcface", c.lossType());
        assertEquals(List.of("lfw"), c.valTargets());
        assertEquals("ResNet50", c.modelName());
        assertEquals(120, c.trainEpochs());
        assertNull(c.trainImageNum());
        assertEquals(MarginConfig.arcface(0.5, 64), c.marginConfig());
        assertEquals(0.1 * 128 / 1024, c.baseLr(), 1e-15);
    }

    @Test
    void fileThenSetsOverrideTheDefaults() throws Exception {
        Path f = dir.resolve("job.yaml");
        Files.writeString(f, "num_classes: 1001\nval_targets: lfw,cfp_fp\nloss_type: dist_cosface\nmargin: 0.35\n"
                + "lr_steps: [10, 20]\n");
        TrainConfig c = TrainConfigs.load(f, List.of("lr=0.5", "lr_steps=[30, 40, 50]", "checkpoint_dir="));
        assertEquals(1001, c.numClasses());
        assertEquals(List.of("lfw", "cfp_fp"), c.valTargets());
        assertEquals(MarginConfig.cosface(0.35, 64), c.marginConfig());
        assertEquals(0.5, c.lr());
        assertEquals(List.of(30L, 40L, 50L), c.lrSteps());
        assertEquals("", c.checkpointDir());
        // the tree written into manifests binds back to the same config
        assertEquals(c, TrainConfigs.bind(TrainConfigs.toTree(c), "manifest"));
    }

    @Test
    void combinedLossTakesThreeMargins() {
        TrainConfig c = TrainConfigs.load(null, List.of("loss_type=combined", "margin1=1.0", "margin2=0.3",
                "margin3=0.2"));
        assertEquals(MarginConfig.combined(1.0, 0.3, 0.2, 64), c.marginConfig());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.load(null, List.of("loss_type=combined", "margin2=0.3")));
        assertTrue(e.getMessage().contains("margin1, margin2 and margin3"), e.getMessage());
    }

    @Test
    void badKeysAndValuesAreNamed() throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, "num_clases: 10\n");
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.load(f, List.of()));
        assertTrue(unknown.getMessage().contains("bad.yaml: unknown key 'num_clases'"), unknown.getMessage());
        assertTrue(unknown.getMessage().contains("did you mean num_classes"), unknown.getMessage());

        Files.writeString(f, "num_classes: many\n");
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.load(f, List.of()));
        assertTrue(type.getMessage().contains("num_classes : \"many\" (expected: an integer)"), type.getMessage());

        Files.writeString(f, "lr: [1\n");
        IllegalArgumentException yaml = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.load(f, List.of()));
        assertTrue(yaml.getMessage().startsWith(f + ":"), yaml.getMessage());

        for (String[] bad : new String[][] {
            {"sample_ratio=1.5", "sample_ratio : 1.5 (expected: 0 < x <= 1)"},
            {"loss_type=hinge", "loss_type : hinge"},
            {"image_shape=[1, 32, 32]", "image_shape : [1, 32, 32]"},
            {"lr_steps=[20, 10]", "lr_steps : [20, 10]"},
            {"dataset_format=csv", "dataset_format : csv"},
            {"fc_dtype=float8", "fc_dtype : float8 (expected: one of [float32, float16, bfloat16])"},
            {"amp_lists=[fc_bias]", "amp_lists : [fc_bias] (expected: null for all, or a list of [fc_weights, fc_momentum])"},
            {"fs_checkpoint_dir=/remote/ckpt", "checkpoint_dir : \"\" (expected: the local directory to download"},
            {"fs_ugi=alice", "fs_ugi : alice (expected: \"user,password\""},
            {"hdfs_keep_last=-1", "hdfs_keep_last : -1 (expected: >= 0"},
            {"hdfs_principal=nn/host@REALM", "hdfs_keytab : null (expected: hdfs_principal and hdfs_keytab both"},
            {"hdfs_keytab=/no/such.keytab", "hdfs_principal : null (expected: hdfs_principal and hdfs_keytab both"},
            {"hdfs_conf={mapreduce.x: 1}", "hdfs_conf : mapreduce.x (expected: a Hadoop key"},
            {"layout=striped", "layout : striped"},
            {"train_batch_size=0", "train_batch_size : 0 (expected: > 0)"},
            {"lr", "--set : lr (expected: key=value)"},
        }) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TrainConfigs.load(null, List.of(bad[0])), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]), bad[0] + " -> " + e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> TrainConfigs.load(dir.resolve("nope.yaml"), List.of()));
    }

    @Test
    void hdfsKeysAreAcceptedAndValidated() {
        TrainConfig c = TrainConfigs.load(null, List.of("fs_name=hdfs://nn:9000", "fs_ugi=alice,secret",
                "fs_dir_for_save=/ckpt", "hdfs_keep_last=2", "hdfs_conf={dfs.replication: '1', fs.trash.interval: '0'}"));
        assertEquals("hdfs://nn:9000", c.fsName());
        assertEquals(2, c.hdfsKeepLast());
        assertEquals(Map.of("dfs.replication", "1", "fs.trash.interval", "0"), c.hdfsConf());
        assertTrue(c.hdfsUpload());
        assertFalse(c.hdfsDownload(), "fs_checkpoint_dir unset");
        assertTrue(TrainConfigs.load(null, List.of()).hdfsConf().isEmpty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.load(null, List.of("fs_ugi=a,b,c")));
        assertFalse(e.getMessage().contains("b,c"), "the password is not echoed: " + e.getMessage());
    }

    @Test
    void entryStyleMapsMergeOverTheDefaults() {
        TrainConfig c = TrainConfigs.bind(TrainConfigs.merged(Map.of("emb_size", 64, "sample_ratio", 0.1)), "Entry");
        assertEquals(64, c.embSize());
        assertEquals(0.1, c.sampleRatio());
        // the FC initialiser is PLSC's: stdv = math.sqrt(2.0 / (in_dim + self.nclasses))
        assertEquals(new FcConfig(85742, 64, MarginConfig.arcface(0.5, 64), 0.1, ClassLayout.Kind.BALANCED, 0, 0.9,
                5e-4, FcHead.COSINE_MARGIN, Math.sqrt(2.0 / (64 + 85742))), c.fcConfig());
    }

    @Test
    void aConfigSavedBeforeKeysWereAddedTakesTodaysDefaults() {
        TrainConfig c = TrainConfigs.load(null, List.of("num_classes=10", "emb_size=8"));
        com.fasterxml.jackson.databind.node.ObjectNode saved = TrainConfigs.toTree(c);
        saved.remove("fc_weight_decay");
        saved.remove("skip_bad_samples");
        assertEquals(c, TrainConfigs.fromSaved(saved, "old manifest"));
        saved.put("no_such_key", 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfigs.fromSaved(saved, "old manifest"));
        assertTrue(e.getMessage().contains("old manifest: unknown key 'no_such_key'"), e.getMessage());
    }

    @Test
    void fcDtypeFollowsUseFp16UnlessSetAndAmpListsPicksTheParts() {
        assertEquals(FcDtype.FLOAT32, TrainConfigs.load(null, List.of()).fcWeightsDtype());
        TrainConfig fp16 = TrainConfigs.load(null, List.of("use_fp16=true"));
        assertEquals(FcDtype.FLOAT16, fp16.fcWeightsDtype());
        assertEquals(FcDtype.FLOAT16, fp16.fcMomentumDtype());
        assertTrue(fp16.lossScaling());
        TrainConfig bf16 = TrainConfigs.load(null, List.of("use_fp16=true", "fc_dtype=BFloat16"));
        assertEquals("bfloat16", bf16.fcDtype());
        assertEquals(FcDtype.BFLOAT16, bf16.fcWeightsDtype());
        TrainConfig storageOnly = TrainConfigs.load(null, List.of("fc_dtype=bfloat16", "amp_lists=[fc_momentum]"));
        assertEquals(FcDtype.FLOAT32, storageOnly.fcWeightsDtype());
        assertEquals(FcDtype.BFLOAT16, storageOnly.fcMomentumDtype());
        assertTrue(!storageOnly.lossScaling());
    }
}
