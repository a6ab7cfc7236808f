package org.plsc4j.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class RowCopyTest {

    @Test
    void gathersAndScattersRowsOfViewsWithOffsets() {
        INDArray big = Nd4j.arange(0, 40 * 6).castTo(DataType.FLOAT).reshape(40, 6);
        INDArray src = big.get(NDArrayIndex.interval(10, 30), NDArrayIndex.all()); // offset 60
        INDArray bufBig = Nd4j.zeros(DataType.FLOAT, 9, 6);
        INDArray dst = bufBig.get(NDArrayIndex.interval(2, 5), NDArrayIndex.all()); // offset 12
        int[] rows = {7, 0, 19};
        RowCopy.gather(src, dst, rows);
        for (int j = 0; j < rows.length; j++) {
            assertArrayEquals(big.getRow(10 + rows[j]).toFloatVector(), bufBig.getRow(2 + j).toFloatVector());
        }
        assertArrayEquals(new float[6], bufBig.getRow(1).toFloatVector(), "rows outside the view untouched");
        assertArrayEquals(new float[6], bufBig.getRow(5).toFloatVector(), "rows outside the view untouched");

        INDArray target = Nd4j.zeros(DataType.FLOAT, 50, 6);
        INDArray targetView = target.get(NDArrayIndex.interval(20, 50), NDArrayIndex.all());
        RowCopy.scatter(dst, targetView, new int[] {3, 29, 0});
        assertArrayEquals(bufBig.getRow(2).toFloatVector(), target.getRow(23).toFloatVector());
        assertArrayEquals(bufBig.getRow(3).toFloatVector(), target.getRow(49).toFloatVector());
        assertArrayEquals(bufBig.getRow(4).toFloatVector(), target.getRow(20).toFloatVector());
        assertArrayEquals(new float[6], target.getRow(19).toFloatVector());
    }

    @Test
    void rejectsRowsOutOfRangeAndMismatchedWidths() {
        INDArray src = Nd4j.zeros(DataType.FLOAT, 4, 3);
        INDArray dst = Nd4j.zeros(DataType.FLOAT, 2, 3);
        assertThrows(IndexOutOfBoundsException.class, () -> RowCopy.gather(src, dst, new int[] {4}));
        assertThrows(IllegalArgumentException.class,
                () -> RowCopy.gather(src, Nd4j.zeros(DataType.FLOAT, 2, 4), new int[] {0}));
    }
}
