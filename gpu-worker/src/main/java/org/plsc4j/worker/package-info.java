/**
 * The worker process: collectives between processes, the backbones (SameDiff) in front of the
 * sharded FC layer, their data-parallel gradient all-reduce, optimizer and learning-rate schedule;
 * later the trainer.
 */
package org.plsc4j.worker;
