package org.plsc4j.nccl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveContractTest;

/**
 * The {@link CollectiveContractTest} over NCCL: rank r on GPU r (NCCL allows one rank per GPU in a
 * communicator), so groups larger than the machine's GPU count are skipped. Without a GPU the whole class
 * is reported as skipped with the reason ({@link Gpus}). Two contract tests NCCL cannot pass are skipped
 * with theirs ({@link #UNSUPPORTED}).
 */
@ExtendWith({Gpus.class, NcclCollectiveTest.Limits.class})
class NcclCollectiveTest extends CollectiveContractTest {

    /** Contract tests NCCL cannot pass, and why. */
    static final java.util.Map<String, String> UNSUPPORTED = java.util.Map.of(
            "silentRankTimesOutNamingIt", "NCCL times out but cannot say which rank is silent",
            "mismatchedLengthsAcrossRanksFailNamingTheSizes",
            "NCCL does not compare lengths across ranks (a mismatch is undefined behaviour in NCCL)");

    /** Skips the {@link #UNSUPPORTED} tests with their reason. */
    static final class Limits implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String why = context.getTestMethod().map(m -> UNSUPPORTED.get(m.getName())).orElse(null);
            return why == null ? ConditionEvaluationResult.enabled("") : ConditionEvaluationResult.disabled(why);
        }
    }

    @Override
    protected Collective join(CollectiveConfig config) {
        Nd4j.getAffinityManager().unsafeSetDevice(config.rank());
        return new NcclCollectiveProvider().join(config);
    }

    @Override
    protected List<Collective> joinGroup(int worldSize, String jobId, String token) {
        assumeTrue(worldSize <= Gpus.count(), "world_size " + worldSize + " needs " + worldSize + " GPUs, this machine has "
                + Gpus.count());
        return super.joinGroup(worldSize, jobId, token);
    }

    @Override
    protected List<CollectiveConfig> configs(int worldSize, String jobId, String token, java.time.Duration timeout) {
        assumeTrue(worldSize <= Gpus.count(), "world_size " + worldSize + " needs " + worldSize + " GPUs, this machine has "
                + Gpus.count());
        return super.configs(worldSize, jobId, token, timeout);
    }

}
