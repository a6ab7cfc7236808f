/** Benchmarks of plsc4j against baselines measured in the same run. */
package org.plsc4j.bench;
