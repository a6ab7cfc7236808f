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

    /** Rows of job {@code job} in {@code store}. */
    public ShardStoreRows(ShardStore store, String job) {
        this.store = Objects.requireNonNull(store, "store");
        this.job = ShardStore.checkJob(job);
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
        for (int b : ids) {
            FcBlock x = got.get(b);
            if (x == null) {
                continue;
            }
            if (x.dim() != dim) {
                throw new IllegalArgumentException("emb_size : " + dim + " (expected: " + x.dim() + ", the dim of the"
                        + " stored " + x + "; is another job using the name " + job + "?)");
            }
            int cl = Math.max(start, x.firstClass());
            int ch = Math.min(end, x.endClass());
            if (ch <= cl) {
                continue;
            }
            System.arraycopy(x.weights(), (cl - x.firstClass()) * dim, weights, (cl - start) * dim, (ch - cl) * dim);
            System.arraycopy(x.momentum(), (cl - x.firstClass()) * dim, momentum, (cl - start) * dim, (ch - cl) * dim);
            found += ch - cl;
            lo = Math.min(lo, x.version());
            hi = Math.max(hi, x.version());
        }
        READ.inc(8.0 * found * dim);
        return new ReadResult(end - start - found, hi < 0 ? -1 : lo, hi);
    }
}
