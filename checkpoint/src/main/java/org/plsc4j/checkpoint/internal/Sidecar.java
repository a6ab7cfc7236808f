package org.plsc4j.checkpoint.internal;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import org.plsc4j.checkpoint.Manifest;

/**
 * What one rank tells rank 0's commit about the FC shard it wrote ({@code fc/rank-NNNNN.json} in the
 * staging directory; removed by the commit). Sizes and hashes were computed while writing.
 *
 * @param rank the rank
 * @param classStart first class id
 * @param classEnd one past the last class id
 * @param embSize columns
 * @param weights the weights file
 * @param momentum the momentum file
 */
@JsonPropertyOrder({"rank", "class_start", "class_end", "emb_size", "weights", "momentum", "bias", "bias_momentum"})
public record Sidecar(
        @JsonProperty(value = "rank", required = true) int rank,
        @JsonProperty(value = "class_start", required = true) int classStart,
        @JsonProperty(value = "class_end", required = true) int classEnd,
        @JsonProperty(value = "emb_size", required = true) int embSize,
        @JsonProperty(value = "weights", required = true) Manifest.FileEntry weights,
        @JsonProperty(value = "momentum", required = true) Manifest.FileEntry momentum,
        @JsonProperty("bias") Manifest.FileEntry bias,
        @JsonProperty("bias_momentum") Manifest.FileEntry biasMomentum) {

    /** Relative path of rank {@code rank}'s bias file. */
    public static String biasPath(int rank) {
        return String.format("fc/rank-%05d-bias.npy", rank);
    }

    /** Relative path of rank {@code rank}'s bias momentum file. */
    public static String biasMomentumPath(int rank) {
        return String.format("fc/rank-%05d-bias-momentum.npy", rank);
    }

    /** Relative path of rank {@code rank}'s sidecar. */
    public static String path(int rank) {
        return String.format("fc/rank-%05d.json", rank);
    }

    /** Relative path of rank {@code rank}'s weights file. */
    public static String weightsPath(int rank) {
        return String.format("fc/rank-%05d-weights.npy", rank);
    }

    /** Relative path of rank {@code rank}'s momentum file. */
    public static String momentumPath(int rank) {
        return String.format("fc/rank-%05d-momentum.npy", rank);
    }
}
