package org.plsc4j.nccl;

import java.lang.reflect.AnnotatedElement;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.plsc4j.core.Device;
import org.plsc4j.core.GpuProbe;

/**
 * JUnit condition of the GPU suite: runs where an NVIDIA GPU the backend supports is found, and is
 * reported as skipped with the reason elsewhere (CI, this project's machines).
 */
public final class Gpus implements ExecutionCondition {

    /** GPUs on this machine (nvidia-smi or the driver's files). */
    public static int count() {
        return GpuProbe.system().gpus().size();
    }

    /** Why the GPU suite cannot run here, or empty. */
    public static Optional<String> unavailable() {
        if (count() == 0) {
            return Optional.of("no NVIDIA GPU on this machine: the GPU suite runs in gpu-check on a GPU machine");
        }
        try {
            Device.parse("cuda:0").check();
        } catch (IllegalStateException e) {
            return Optional.of(e.getMessage());
        }
        return Optional.empty();
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<String> why = unavailable();
        if (why.isPresent()) {
            return ConditionEvaluationResult.disabled(why.get());
        }
        Optional<AnnotatedElement> el = context.getElement();
        NcclUnsupported u = el.map(e -> e.getAnnotation(NcclUnsupported.class)).orElse(null);
        return u == null ? ConditionEvaluationResult.enabled("GPU found")
                : ConditionEvaluationResult.disabled(u.value());
    }
}
