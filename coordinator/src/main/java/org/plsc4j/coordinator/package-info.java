/**
 * Job coordination over ZooKeeper (Curator): the job's nodes ({@link org.plsc4j.coordinator.JobPaths},
 * {@link org.plsc4j.coordinator.JobStore}), worker registration, generations with ranks and class
 * ranges published by a leader-elected {@link org.plsc4j.coordinator.Coordinator}, the workers' view
 * ({@link org.plsc4j.coordinator.GenerationWatcher}), a ZooKeeper {@code Rendezvous} for the
 * collectives and an embedded server for one-machine jobs.
 *
 * <p>Why ZooKeeper: ephemeral nodes give failure detection without a heartbeat protocol of our own,
 * multi-op transactions give all-or-nothing generations, and Curator's recipes give leader election
 * and watches that survive reconnections.
 */
package org.plsc4j.coordinator;
