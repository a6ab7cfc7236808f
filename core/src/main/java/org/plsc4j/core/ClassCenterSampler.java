package org.plsc4j.core;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Partial FC class-center sampling with the semantics of Paddle's {@code class_center_sample}.
 *
 * <p>Every positive center of the global batch is kept; negatives are drawn uniformly without
 * replacement from the rest of the rank's shard until {@code max(1, floor(sample_ratio · num_local))}
 * centers are chosen (all positives are kept even when they are more). The sampled local indices
 * are the positives in ascending order followed by the negatives (ascending, so the gathers sweep
 * memory forward). Labels are remapped to their index in the concatenation of the sampled centers
 * of ranks 0..N−1. With {@code sample_ratio == 1} nothing is sampled: the whole shard in order and
 * the labels unchanged, as PLSC does.
 *
 * <p>Everything here is a function of (global labels, layout, seed, step, rank): since every rank
 * sees the same global labels, each can compute every rank's positive set and sample count, so
 * the remapped labels need no communication. Negatives depend on (seed, step, rank).
 */
public final class ClassCenterSampler {

    /**
     * One rank's sample.
     *
     * @param localIndices the sampled local class indices (positives ascending, then negatives ascending)
     * @param numPositives how many of {@code localIndices} are positives
     * @param targetColumns per global batch row, the position of its label in {@code localIndices}, or
     *     −1 when another rank owns the label
     * @param remappedLabels per global batch row, the label's index in the concatenated sample
     * @param sampledPerRank number of sampled centers of each rank
     */
    public record Sample(int[] localIndices, int numPositives, int[] targetColumns, int[] remappedLabels,
                         int[] sampledPerRank) {

        /** Number of centers sampled on this rank. */
        public int size() {
            return localIndices.length;
        }

        /** Total number of sampled centers over all ranks. */
        public int totalSampled() {
            return Arrays.stream(sampledPerRank).sum();
        }
    }

    private ClassCenterSampler() {
    }

    /** The sample size of a rank owning {@code numLocal} classes, before positives are added. */
    public static int sampleSize(double sampleRatio, int numLocal) {
        return Math.max(1, (int) Math.floor(sampleRatio * numLocal));
    }

    /**
     * Samples rank {@code rank}'s class centers for the global batch {@code labels}.
     *
     * @throws IllegalArgumentException naming the row and value of a label outside [0, num_classes)
     */
    public static Sample sample(int[] labels, ClassLayout layout, int rank, double sampleRatio, long seed, long step) {
        if (!(sampleRatio > 0 && sampleRatio <= 1)) {
            throw new IllegalArgumentException("sample_ratio : " + sampleRatio + " (expected: 0 < x <= 1)");
        }
        int n = layout.worldSize();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= layout.numClasses()) {
                throw new IllegalArgumentException("label : " + labels[i] + " at batch row " + i
                        + " (expected: 0 <= label < num_classes = " + layout.numClasses() + ")");
            }
        }
        int start = layout.start(rank);
        int numLocal = layout.size(rank);
        if (sampleRatio == 1.0) {
            int[] all = new int[numLocal];
            Arrays.setAll(all, j -> j);
            int[] cols = new int[labels.length];
            int[] perRank = new int[n];
            for (int r = 0; r < n; r++) {
                perRank[r] = layout.size(r);
            }
            for (int i = 0; i < labels.length; i++) {
                cols[i] = labels[i] >= start && labels[i] < start + numLocal ? labels[i] - start : -1;
            }
            return new Sample(all, countPositives(labels, start, numLocal), cols, labels.clone(), perRank);
        }

        // positives of every rank: sorted unique labels, grouped by owner
        int[] uniq = Arrays.stream(labels).sorted().distinct().toArray();
        int[] perRank = new int[n];
        int[] firstPositive = new int[n + 1]; // index into uniq of the first label of rank r
        for (int r = 0, u = 0; r < n; r++) {
            firstPositive[r] = u;
            while (u < uniq.length && uniq[u] < layout.end(r)) {
                u++;
            }
            int positives = u - firstPositive[r];
            perRank[r] = Math.max(positives, sampleSize(sampleRatio, layout.size(r)));
        }
        firstPositive[n] = uniq.length;
        int[] offsets = new int[n];
        for (int r = 1; r < n; r++) {
            offsets[r] = offsets[r - 1] + perRank[r - 1];
        }
        int[] remapped = new int[labels.length];
        int[] cols = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            int owner = layout.ownerOf(labels[i]);
            int pos = Arrays.binarySearch(uniq, firstPositive[owner], firstPositive[owner + 1], labels[i])
                    - firstPositive[owner];
            remapped[i] = offsets[owner] + pos;
            cols[i] = owner == rank ? pos : -1;
        }

        int numPos = firstPositive[rank + 1] - firstPositive[rank];
        int[] sampled = new int[perRank[rank]];
        boolean[] taken = new boolean[numLocal];
        for (int p = 0; p < numPos; p++) {
            int local = uniq[firstPositive[rank] + p] - start;
            sampled[p] = local;
            taken[local] = true;
        }
        int want = perRank[rank] - numPos;
        if (want > 0) {
            int[] negatives = new int[numLocal - numPos];
            for (int j = 0, k = 0; j < numLocal; j++) {
                if (!taken[j]) {
                    negatives[k++] = j;
                }
            }
            SplittableRandom rng = new SplittableRandom(mix(seed, step, rank));
            for (int k = 0; k < want; k++) { // partial Fisher-Yates: the first `want` are a uniform sample
                int pick = k + rng.nextInt(negatives.length - k);
                int tmp = negatives[k];
                negatives[k] = negatives[pick];
                negatives[pick] = tmp;
            }
            Arrays.sort(negatives, 0, want);
            System.arraycopy(negatives, 0, sampled, numPos, want);
        }
        return new Sample(sampled, numPos, cols, remapped, perRank);
    }

    private static int countPositives(int[] labels, int start, int numLocal) {
        return (int) Arrays.stream(labels).filter(l -> l >= start && l < start + numLocal).distinct().count();
    }

    /** A 64-bit mix of the seed, the step and the rank (SplitMix64 finaliser over each). */
    static long mix(long seed, long step, long rank) {
        long h = seed * 0x9E3779B97F4A7C15L + step;
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L + rank;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        return h ^ (h >>> 31);
    }
}
