package org.plsc4j.core.internal;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The elements of a row-major FLOAT matrix with contiguous rows as a direct {@link FloatBuffer}, so
 * that Java loops can move whole rows between native memory and small heap arrays with one bulk
 * copy each.
 *
 * <p>Why rows go through heap arrays: C2 (JDK 17) does not vectorise loops that index a direct
 * buffer element by element, but it does vectorise simple loops over {@code float[]}; a row of a
 * logits chunk (≤ a few thousand floats) stays in L1 between the bulk copy and the loops.
 */
final class DirectRows {

    private DirectRows() {
    }

    /** Whether {@code a} is a row-major FLOAT matrix whose rows follow each other without gaps. */
    static boolean fits(INDArray a) {
        return a.dataType() == DataType.FLOAT && a.rank() == 2 && a.ordering() == 'c'
                && a.stride(1) == 1 && (a.rows() == 1 || a.stride(0) == a.columns()) && a.length() <= Integer.MAX_VALUE;
    }

    /** A direct buffer over the matrix's elements (a view's {@code data()} already starts at its offset). */
    static FloatBuffer of(INDArray a) {
        if (!fits(a)) {
            throw new IllegalArgumentException("needs a row-major FLOAT matrix with contiguous rows, got "
                    + a.shapeInfoToString());
        }
        FloatPointer p = new FloatPointer(a.data().addressPointer());
        return p.position(0).limit(a.length()).asBuffer();
    }
}
