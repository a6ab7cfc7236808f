/**
 * The Prometheus metrics of plsc4j processes: {@link org.plsc4j.metrics.PlscMetrics} holds the
 * instruments (training steps, collectives, shard flushes, the shard store, JVM and off-heap memory)
 * on the Prometheus Java client's default registry, and {@link org.plsc4j.metrics.Exposition} writes
 * a scrape in the text format for any HTTP server of ours (worker, coordinator dashboard, serving).
 */
package org.plsc4j.metrics;
