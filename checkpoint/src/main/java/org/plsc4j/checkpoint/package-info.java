/**
 * Checkpoints of a model whose FC layer is sharded by class: a directory with a {@code manifest.json}
 * and one {@code .npy} file per array, written by every rank in parallel, committed atomically by
 * rank 0, and readable by any worker count and class layout (each rank reads exactly its class range).
 *
 * <p>Entry points: {@link org.plsc4j.checkpoint.CheckpointWriter} (the multi-process write protocol),
 * {@link org.plsc4j.checkpoint.Checkpoint} (reading, verified by sha256),
 * {@link org.plsc4j.checkpoint.Checkpoints} (finding the latest complete checkpoint, cleaning up after
 * crashes) and {@link org.plsc4j.checkpoint.Reshard} (offline re-partitioning). The on-disk layout is a
 * public contract described in the project README.
 */
package org.plsc4j.checkpoint;
