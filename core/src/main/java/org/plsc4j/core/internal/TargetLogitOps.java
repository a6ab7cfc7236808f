package org.plsc4j.core.internal;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.plsc4j.core.MarginConfig;
import org.plsc4j.core.TargetLogit;

/**
 * The loss-specific part of the ops-only FC step ({@link OpsFcStep}): the target-logit transform
 * {@code f(cos)} and its derivative over a vector of target cosines, as ND4J operations, following the
 * same rules as {@link TargetLogit} (clamp, insightface's fallback past π, sin θ bounded below).
 *
 * <p>Why one small class: it is the only place where the loss types differ in the ops step; a new loss
 * type (or a bias) extends this function and nothing else. Computed in float64 on the device: the
 * vector has one entry per batch row.
 */
public final class TargetLogitOps {

    private TargetLogitOps() {
    }

    /**
     * {@code {f(cos), f'(cos)}} element-wise for {@code cos} [B] (any float type), both float32 [B].
     */
    public static INDArray[] valueAndDerivative(INDArray cos, MarginConfig m) {
        if (!m.angular()) {
            INDArray f = cos.castTo(DataType.FLOAT).sub(m.m3());
            INDArray d = f.ulike().assign(1.0);
            return new INDArray[] {f, d};
        }
        INDArray c = Transforms.min(Transforms.max(cos.castTo(DataType.DOUBLE), -1.0, true), 1.0, false);
        INDArray theta = Transforms.acos(c, true);
        INDArray angle = theta.mul(m.m1()).addi(m.m2());
        INDArray f = Transforms.cos(angle, true).subi(m.m3());
        INDArray oneMinusSq = Transforms.max(c.mul(c).rsubi(1.0), 0.0, false);
        INDArray sin = Transforms.max(Transforms.sqrt(oneMinusSq, false), TargetLogit.MIN_SIN, false);
        INDArray d = Transforms.sin(angle, true).muli(m.m1()).divi(sin);
        // past π the margin would raise the logit with θ: f(c) = c − m2·sin(π − m2) − m3, f' = 1
        INDArray past = angle.gt(Math.PI).castTo(DataType.DOUBLE);
        INDArray fallback = c.sub(Math.sin(Math.PI - m.m2()) * m.m2() + m.m3());
        f.muli(past.rsub(1.0)).addi(fallback.muli(past));
        d.muli(past.rsub(1.0)).addi(past);
        return new INDArray[] {f.castTo(DataType.FLOAT), d.castTo(DataType.FLOAT)};
    }
}
