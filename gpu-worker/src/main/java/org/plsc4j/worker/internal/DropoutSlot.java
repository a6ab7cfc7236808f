package org.plsc4j.worker.internal;

/**
 * One dropout of the training graph.
 *
 * @param name the layer name
 * @param input the graph variable the mask multiplies (probed once for its per-sample shape)
 * @param mask the placeholder fed with the mask
 * @param p drop probability
 */
public record DropoutSlot(String name, String input, String mask, double p) {
}
