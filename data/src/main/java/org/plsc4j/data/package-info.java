/**
 * PLSC's training data on the JVM: the {@code label_txt} and {@code base64} dataset formats, the
 * epoch plan that makes the global batch independent of the worker count, a prefetching batch
 * loader, insightface {@code .bin} verification sets with their metrics, and a synthetic generator.
 */
package org.plsc4j.data;
