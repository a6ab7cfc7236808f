package org.plsc4j.elastic.internal;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.plsc4j.metrics.PlscMetrics;
import org.plsc4j.shardstore.FcBlock;
import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.worker.FcRowStore;

/**
 * The trainer's {@link FcRowStore} over a {@link ShardStore}: rows of one job go to fixed-size class
 * blocks (independent of the worker count), boundary blocks are merged atomically by the store.
 */
public final class ShardStoreRows implements FcRowStore {

    private final ShardStore store;
    private final String job;
    private final AtomicLong lastVersion = new AtomicLong(-1);
    private static final CounterDataPoint WRITTEN = PlscMetrics.STORE_BYTES.labelValues("write");
    private static final CounterDataPoint READ = PlscMetrics.STORE_BYTES.labelValues("read");

    private final long transferFloats;

    /** Rows of job {@code job} in {@code store}, moved {@link FcRowStore#DEFAULT_TRANSFER_FLOATS} floats at a time. */
    public ShardStoreRows(ShardStore store, String job) {
        this(store, job, DEFAULT_TRANSFER_FLOATS);
    }

    /**
     * Rows of job {@code job} in {@code store}, moved in transfers of whole store blocks, as many as
     * fit {@code transferFloats} floats per array (at least one block).
     */
    public ShardStoreRows(ShardStore store, String job, long transferFloats) {
        this.store = Objects.requireNonNull(store, "store");
        this.job = ShardStore.checkJob(job);
        if (transferFloats < 1) {
            throw new IllegalArgumentException("transferFloats : " + transferFloats + " (expected: >= 1)");
        }
        this.transferFloats = transferFloats;
    }

    @Override
    public int transferRows(int dim) {
        long perBlock = (long) store.blockRows() * dim;
        long blocks = Math.max(1, transferFloats / perBlock);
        return (int) Math.min(Integer.MAX_VALUE / 2, blocks * store.blockRows());
    }

    @Override
    public String describe() {
        return store.name() + " shard store " + store + ", job " + job;
    }

    @Override
    public void write(int start, int end, int dim, float[] weights, float[] momentum, long version) {
        store.writeRange(job, start, end, dim, weights, momentum, version);
        WRITTEN.inc(8.0 * (end - start) * dim);
        lastVersion.accumulateAndGet(version, Math::max);
    }

    /** The highest version written through this object (-1: none): the worker's last flush. */
    public long lastVersion() {
        return lastVersion.get();
    }

    @Override
    public ReadResult read(int start, int end, int dim, float[] weights, float[] momentum) {
        List<Integer> ids = new ArrayList<>();
        for (int b = store.blockOf(start); b <= store.blockOf(end - 1); b++) {
            ids.add(b);
        }
        Map<Integer, FcBlock> got = store.getAll(job, ids);
        int found = 0;
        long lo = Long.MAX_VALUE;
        long hi = -1;
        List<Range> missing = new ArrayList<>();
        for (int b : ids) {
            int bs = Math.max(start, store.blockStart(b));
            int be = (int) Math.min(end, (long) store.blockStart(b) + store.blockRows());
            FcBlock x = got.get(b);
            if (x == null) {
                gap(missing, bs, be);
                continue;
            }
            if (x.dim() != dim) {
                throw new IllegalArgumentException("emb_size : " + dim + " (expected: " + x.dim() + ", the dim of the"
                        + " stored " + x + "; is another job using the name " + job + "?)");
            }
            int cl = Math.max(bs, x.firstClass());
            int ch = Math.min(be, x.endClass());
            if (ch <= cl) {
                gap(missing, bs, be);
                continue;
            }
            gap(missing, bs, cl);
            gap(missing, ch, be);
            System.arraycopy(x.weights(), (cl - x.firstClass()) * dim, weights, (cl - start) * dim, (ch - cl) * dim);
            System.arraycopy(x.momentum(), (cl - x.firstClass()) * dim, momentum, (cl - start) * dim, (ch - cl) * dim);
            found += ch - cl;
            lo = Math.min(lo, x.version());
            hi = Math.max(hi, x.version());
        }
        READ.inc(8.0 * found * dim);
        return new ReadResult(end - start - found, hi < 0 ? -1 : lo, hi, missing);
    }

    /** Adds classes {@code [a, b)} (when not empty) to ascending {@code ranges}, joining touching ones. */
    private static void gap(List<Range> ranges, int a, int b) {
        if (b <= a) {
            return;
        }
        if (!ranges.isEmpty() && ranges.get(ranges.size() - 1).end() == a) {
            ranges.set(ranges.size() - 1, new Range(ranges.get(ranges.size() - 1).start(), b));
        } else {
            ranges.add(new Range(a, b));
        }
    }
}
