package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TrainConfigs;

/** The trainer's mixed-precision guards that need no training run. */
class TrainerMixedPrecisionTest {

    /** An elastic membership that is never joined. */
    private static Membership elastic() {
        FcRowStore rows = new FcRowStore() {
            @Override
            public void write(int start, int end, int dim, float[] weights, float[] momentum, long version) {
                throw new UnsupportedOperationException();
            }

            @Override
            public ReadResult read(int start, int end, int dim, float[] weights, float[] momentum) {
                throw new UnsupportedOperationException();
            }
        };
        return new Membership() {
            @Override
            public Member join(long after) {
                throw new UnsupportedOperationException();
            }

            @Override
            public boolean superseded(long generation) {
                return false;
            }

            @Override
            public boolean elastic() {
                return true;
            }

            @Override
            public FcRowStore rows() {
                return rows;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void elasticJobsAcceptHalfStorage() {
        // the shard store moves half rows block by block (RowTransfer); exactness: ElasticTrainerTest
        for (String t : List.of("float16", "bfloat16", "float32")) {
            new Trainer(TrainConfigs.load(null, List.of("fc_dtype=" + t)), elastic(), null, null, "r");
        }
    }

    @Test
    void allFiniteSeesNaNAndInfinityInAnyGradient() {
        var ok = Nd4j.createFromArray(new float[] {1, -2, 3});
        assertTrue(Trainer.allFinite(Map.of("a", ok)));
        assertFalse(Trainer.allFinite(Map.of("a", ok, "b", Nd4j.createFromArray(new float[] {0, Float.NaN}))));
        assertFalse(Trainer.allFinite(Map.of("b", Nd4j.createFromArray(new float[] {Float.NEGATIVE_INFINITY, 1}))));
    }
}
