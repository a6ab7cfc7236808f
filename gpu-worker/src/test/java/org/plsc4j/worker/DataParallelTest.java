package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.Ranks;
import org.plsc4j.core.TestSeed;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;

/** Summed per-rank gradients of slices of the global batch equal the single-rank gradient of the whole batch. */
@ExtendWith(TestSeed.class)
class DataParallelTest {

    private static final int GLOBAL_BATCH = 12;

    private static BackboneConfig config() {
        return BackboneConfig.of(6, 2, 4, 4, TestSeed.of("dp-model"));
    }

    private static INDArray rows(INDArray a, int from, int to) {
        INDArrayIndex[] idx = new INDArrayIndex[a.rank()];
        idx[0] = NDArrayIndex.interval(from, to);
        for (int k = 1; k < a.rank(); k++) {
            idx[k] = NDArrayIndex.all();
        }
        return a.get(idx).dup();
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void summedRankGradientsEqualTheWholeBatchGradient(int world) {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("dp-" + world));
        BackboneConfig cfg = config();
        INDArray x = Tensors.gaussian(rng, DataType.FLOAT, 1.0, GLOBAL_BATCH, cfg.channels(), cfg.height(), cfg.width());
        INDArray g = Tensors.gaussian(rng, DataType.FLOAT, 1.0 / GLOBAL_BATCH, GLOBAL_BATCH, cfg.embSize());

        Backbone whole = Backbones.create("mlp", cfg);
        whole.forward(x, true);
        whole.backward(g);
        Map<String, INDArray> expected = new LinkedHashMap<>();
        whole.gradients().forEach((k, v) -> expected.put(k, v.dup()));

        CollectiveConfig cc = CollectiveConfig.builder().jobId("dp-" + UUID.randomUUID()).worldSize(world)
                .timeout(Duration.ofSeconds(60)).build();
        List<Collective> group = Ranks.runIndexed(world, r -> () -> Collectives.join("inprocess", cc.withRank(r)));
        int b = GLOBAL_BATCH / world;
        try {
            List<Map<String, INDArray>> reduced = Ranks.run(group, c -> {
                Backbone local = Backbones.create("mlp", cfg);
                int from = c.rank() * b;
                local.forward(rows(x, from, from + b), true);
                local.backward(rows(g, from, from + b));
                DataParallel.allReduceGradients(local.gradients(), c);
                Map<String, INDArray> out = new LinkedHashMap<>();
                local.gradients().forEach((k, v) -> out.put(k, v.dup()));
                return out;
            });
            for (int r = 0; r < world; r++) {
                assertEquals(expected.keySet(), reduced.get(r).keySet());
                for (String name : expected.keySet()) {
                    Tensors.assertClose("rank " + r + " of " + world + ": " + name, expected.get(name),
                            reduced.get(r).get(name), 1e-5, 0);
                }
            }
            // the ranks agree bit for bit (one all-reduce result)
            for (String name : expected.keySet()) {
                assertEquals(reduced.get(0).get(name), reduced.get(world - 1).get(name), name);
            }
        } finally {
            group.forEach(Collective::close);
        }
    }

    @Test
    void aSingleRankIsLeftAloneAndNonFloatGradientsAreRefused() {
        CollectiveConfig cc = CollectiveConfig.builder().jobId("dp1-" + UUID.randomUUID()).build();
        try (Collective one = Collectives.join("inprocess", cc)) {
            INDArray v = Nd4j.createFromArray(1f, 2f, 3f);
            DataParallel.allReduceGradients(Map.of("v", v), one);
            assertEquals(Nd4j.createFromArray(1f, 2f, 3f), v);
        }
        CollectiveConfig two = CollectiveConfig.builder().jobId("dp2-" + UUID.randomUUID()).worldSize(2)
                .timeout(Duration.ofSeconds(30)).build();
        List<Collective> group = Ranks.runIndexed(2, r -> () -> Collectives.join("inprocess", two.withRank(r)));
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                    DataParallel.allReduceGradients(Map.of("w", Nd4j.createFromArray(1.0, 2.0)), group.get(0)));
            assertTrue(e.getMessage().contains("gradient data type of w : DOUBLE (expected: FLOAT)"), e.getMessage());
        } finally {
            group.forEach(Collective::close);
        }
    }
}
