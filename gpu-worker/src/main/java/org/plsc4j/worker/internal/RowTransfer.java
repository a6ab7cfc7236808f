package org.plsc4j.worker.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.internal.StoredRows;
import org.plsc4j.worker.FcRowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves an FC shard's rows between ND4J native memory and an {@link FcRowStore} in bounded blocks
 * ({@link FcRowStore#transferRows} classes per call), converting float16 / bfloat16 storage to the
 * store's float32 rows and back on the way.
 *
 * <p>Why: a whole-shard {@code float[]} copy caps an elastic job at what one Java array and the heap
 * hold (a few hundred thousand classes of 512 per worker, where plain training reaches millions);
 * block by block, the heap holds one transfer at a time whatever the shard size, and a half-precision
 * shard never exists as float32 in full.
 */
public final class RowTransfer {

    private static final Logger LOG = LoggerFactory.getLogger(RowTransfer.class);

    private RowTransfer() {
    }

    /**
     * A shard's rows as the store lays them out: the weights {@code [n, D]} (FLOAT, HALF or BFLOAT16,
     * C order), their momentum, and for the plain softmax the bias and its momentum ({@code [n]}
     * FLOAT, stored as a last column), else null.
     */
    public record Shard(INDArray weights, INDArray momentum, INDArray bias, INDArray biasMomentum) {
        /** Checks that the parts agree. */
        public Shard {
            Objects.requireNonNull(weights, "weights");
            Objects.requireNonNull(momentum, "momentum");
            if ((bias == null) != (biasMomentum == null)) {
                throw new IllegalArgumentException("bias : both the bias and its momentum, or neither");
            }
        }

        /** The live rows of {@code fc} (no copy). */
        public static Shard of(PartialFc fc) {
            return new Shard(fc.weights(), fc.momentum(), fc.bias(), fc.biasMomentum());
        }

        /** Classes. */
        public int rows() {
            return weights.rows();
        }

        /** Floats per stored row: D, plus one for the bias. */
        public int dim() {
            return weights.columns() + (bias == null ? 0 : 1);
        }

        /**
         * A native copy of these rows in their own types (a consistent picture of a shard that
         * training goes on changing), into {@code reuse} when it has the same shapes and types.
         */
        public Shard snapshot(Shard reuse) {
            if (reuse != null && same(reuse.weights, weights) && same(reuse.momentum, momentum)
                    && (bias == null ? reuse.bias == null : reuse.bias != null && same(reuse.bias, bias))) {
                reuse.weights.assign(weights);
                reuse.momentum.assign(momentum);
                if (bias != null) {
                    reuse.bias.assign(bias);
                    reuse.biasMomentum.assign(biasMomentum);
                }
                return reuse;
            }
            return new Shard(weights.dup('c'), momentum.dup('c'), bias == null ? null : bias.dup('c'),
                    biasMomentum == null ? null : biasMomentum.dup('c'));
        }

        private static boolean same(INDArray a, INDArray b) {
            return a.dataType() == b.dataType() && java.util.Arrays.equals(a.shape(), b.shape());
        }

        /** Rows {@code [r0, r0 + n)} as float32 store rows into {@code w} / {@code m} ({@code n * dim()}). */
        void read(int r0, int n, float[] w, float[] m) {
            if (bias == null) {
                StoredRows.read(weights, r0, n, w, 0);
                StoredRows.read(momentum, r0, n, m, 0);
                return;
            }
            int d = weights.columns();
            float[] tw = new float[n * d];
            float[] tm = new float[n * d];
            StoredRows.read(weights, r0, n, tw, 0);
            StoredRows.read(momentum, r0, n, tm, 0);
            float[] b = slice(bias, r0, n).toFloatVector();
            float[] bm = slice(biasMomentum, r0, n).toFloatVector();
            for (int j = 0; j < n; j++) {
                System.arraycopy(tw, j * d, w, j * (d + 1), d);
                System.arraycopy(tm, j * d, m, j * (d + 1), d);
                w[j * (d + 1) + d] = b[j];
                m[j * (d + 1) + d] = bm[j];
            }
        }

        /** Writes float32 store rows {@code w} / {@code m} to rows {@code [r0, r0 + n)} (rounded to the storage). */
        void write(int r0, int n, float[] w, float[] m) {
            if (bias == null) {
                StoredRows.write(weights, r0, n, w, 0);
                StoredRows.write(momentum, r0, n, m, 0);
                return;
            }
            int d = weights.columns();
            float[] tw = new float[n * d];
            float[] tm = new float[n * d];
            float[] b = new float[n];
            float[] bm = new float[n];
            for (int j = 0; j < n; j++) {
                System.arraycopy(w, j * (d + 1), tw, j * d, d);
                System.arraycopy(m, j * (d + 1), tm, j * d, d);
                b[j] = w[j * (d + 1) + d];
                bm[j] = m[j * (d + 1) + d];
            }
            StoredRows.write(weights, r0, n, tw, 0);
            StoredRows.write(momentum, r0, n, tm, 0);
            slice(bias, r0, n).assign(Nd4j.createFromArray(b).castTo(bias.dataType()));
            slice(biasMomentum, r0, n).assign(Nd4j.createFromArray(bm).castTo(biasMomentum.dataType()));
        }

        private static INDArray slice(INDArray v, int r0, int n) {
            return v.reshape(v.length()).get(NDArrayIndex.interval(r0, r0 + n));
        }
    }

    /**
     * What {@link #read} found over a shard.
     *
     * @param missingRows classes the store did not have (their rows were left as they were)
     * @param minVersion smallest version among the rows found, -1 when none
     * @param maxVersion largest version among the rows found, -1 when none
     * @param missing the missing classes, ascending (a range may be wider than what is missing when
     *     the store only counts)
     * @param calls store calls made
     * @param failedCalls calls that failed (the store unreachable): their classes count as missing
     */
    public record Result(int missingRows, long minVersion, long maxVersion, List<FcRowStore.Range> missing,
                         int calls, int failedCalls) {
    }

    /** Rows per store call for {@code dim}-wide rows, checked. */
    static int unit(FcRowStore store, int dim) {
        int u = store.transferRows(dim);
        if (u < 1) {
            throw new IllegalStateException("transferRows : " + u + " (expected: >= 1, from " + store.describe() + ")");
        }
        return u;
    }

    /**
     * Writes classes {@code [start, start + src.rows())} from {@code src} (row j = class start + j),
     * one aligned transfer at a time.
     *
     * @return the store calls made
     */
    public static int write(FcRowStore store, int start, Shard src, long version) {
        int dim = src.dim();
        int u = unit(store, dim);
        int end = start + src.rows();
        int calls = 0;
        for (int lo = start; lo < end; ) {
            int hi = next(lo, end, u);
            int n = hi - lo;
            float[] w = new float[n * dim];
            float[] m = new float[n * dim];
            src.read(lo - start, n, w, m);
            store.write(lo, hi, dim, w, m, version);
            calls++;
            lo = hi;
        }
        return calls;
    }

    /**
     * Sets classes {@code [fromClass, toClass)} of the shard being read to their initial values (for
     * {@link PartialFc}: {@link PartialFc#initialiseRows}).
     */
    @FunctionalInterface
    public interface Initialiser {
        /** Initialises classes {@code [fromClass, toClass)}. */
        void initialise(int fromClass, int toClass);
    }

    /**
     * Reads classes {@code [start, start + dst.rows())} into {@code dst}, one aligned transfer at a
     * time; rows the store does not have keep their values in {@code dst}. The caller refreshes
     * whatever caches the weights (norms).
     */
    public static Result read(FcRowStore store, int start, Shard dst) {
        return read(store, start, dst, null);
    }

    /**
     * As {@link #read(FcRowStore, int, Shard)} into a shard whose rows hold no values yet (a
     * {@link PartialFc#createUninitialised} shard): a transfer that finds every row costs nothing more;
     * one that misses rows has its classes initialised by {@code init} and is read again, so the rows the
     * store lacks get their initial values and the others the store's, exactly as a read into an
     * initialised shard gives them. A store that only counts what it misses is handled the same way.
     *
     * @param init initialises the rows of one transfer, or null when {@code dst} already holds values
     */
    public static Result read(FcRowStore store, int start, Shard dst, Initialiser init) {
        int dim = dst.dim();
        int u = unit(store, dim);
        int end = start + dst.rows();
        int missing = 0;
        long lo = Long.MAX_VALUE;
        long hiVersion = -1;
        List<FcRowStore.Range> ranges = new ArrayList<>();
        int calls = 0;
        int[] failures = {0};
        for (int a = start; a < end; ) {
            int b = next(a, end, u);
            int n = b - a;
            float[] w = new float[n * dim];
            float[] m = new float[n * dim];
            dst.read(a - start, n, w, m);
            FcRowStore.ReadResult r = readBlock(store, a, b, dim, w, m, failures);
            calls++;
            if (r.missingRows() > 0 && init != null) {
                // the rows the store lacks must keep their initial values: give them those, then read again
                init.initialise(a, b);
                dst.read(a - start, n, w, m);
                r = readBlock(store, a, b, dim, w, m, failures);
                calls++;
            }
            if (r.missingRows() < n) {
                dst.write(a - start, n, w, m);
            }
            missing += r.missingRows();
            if (r.maxVersion() >= 0) {
                lo = Math.min(lo, r.minVersion());
                hiVersion = Math.max(hiVersion, r.maxVersion());
            }
            if (r.missingRows() > 0) {
                List<FcRowStore.Range> named = r.missing().isEmpty() ? List.of(new FcRowStore.Range(a, b)) : r.missing();
                for (FcRowStore.Range x : named) {
                    add(ranges, x);
                }
            }
            a = b;
        }
        return new Result(missing, hiVersion < 0 ? -1 : lo, hiVersion, List.copyOf(ranges), calls, failures[0]);
    }

    /** One store read; an unreachable store counts the whole transfer as missing (and {@code failures[0]} up). */
    private static FcRowStore.ReadResult readBlock(FcRowStore store, int a, int b, int dim, float[] w, float[] m,
                                                   int[] failures) {
        try {
            return store.read(a, b, dim, w, m);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            // unreachable: these rows are missing as much as lost blocks are (the caller decides)
            LOG.warn("cannot read classes [{}, {}) from the {}: {}", a, b, store.describe(), e.toString());
            failures[0]++;
            return new FcRowStore.ReadResult(b - a, -1, -1, List.of(new FcRowStore.Range(a, b)));
        }
    }

    /** Appends {@code x}, joining it to the last range when they touch. */
    static void add(List<FcRowStore.Range> ranges, FcRowStore.Range x) {
        if (!ranges.isEmpty() && ranges.get(ranges.size() - 1).end() == x.start()) {
            FcRowStore.Range last = ranges.remove(ranges.size() - 1);
            ranges.add(new FcRowStore.Range(last.start(), x.end()));
        } else {
            ranges.add(x);
        }
    }

    /** The end of the transfer that starts at {@code lo}: the next multiple of {@code u}, or {@code end}. */
    private static int next(int lo, int end, int u) {
        long aligned = ((long) lo / u + 1) * u;
        return (int) Math.min(end, aligned);
    }

    /** Bytes of float32 rows (weights and momentum) a transfer of {@code rows} classes moves. */
    public static long bytes(long rows, int dim) {
        return 8L * rows * dim;
    }
}
