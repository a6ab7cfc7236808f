package org.plsc4j.dashboard;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.apache.curator.framework.CuratorFramework;
import org.plsc4j.dashboard.internal.DirView;
import org.plsc4j.dashboard.internal.LiveView;

/**
 * What the dashboard shows of one job, as the JSON the page polls ({@code GET /api/state}): the job
 * (state, generation, world size, restarts, elapsed, ETA), one row per worker (rank, class range,
 * progress, state), the generations, the curves and the events.
 *
 * <p>Two sources: a running job read from ZooKeeper (generations, registry, the workers' reports)
 * plus its {@code metrics.jsonl} when the directory is readable here; or a finished job read from
 * its {@code model_save_dir} alone. The JSON is described in the README ("Dashboard").
 */
public interface JobView {

    /**
     * The current snapshot. Curve points are sent from index {@code since} (the number the page
     * already has; anything out of range sends them all).
     */
    ObjectNode snapshot(long since);

    /** A running job {@code job} on {@code client}; {@code modelSaveDir} null to take it from the job's configuration. */
    static JobView live(CuratorFramework client, String job, Path modelSaveDir) {
        return new LiveView(client, job, modelSaveDir);
    }

    /** A job's {@code model_save_dir} (metrics.jsonl and checkpoints) without ZooKeeper: a finished job. */
    static JobView directory(Path modelSaveDir) {
        return new DirView(modelSaveDir);
    }
}
