package org.plsc4j.data.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.plsc4j.core.TestSeed;

@ExtendWith(TestSeed.class)
class Base64ShuffleTest {

    @Test
    void sortByKeyIsTheFullKeyOrderAlsoWhenTopHalvesCollide() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("sortByKey"));
        int m = 20_000;
        long[] keys = new long[m];
        Set<Long> seen = new HashSet<>();
        for (int j = 0; j < m; j++) {
            long k;
            do {
                // few distinct top halves (negative ones too): long runs of equal top 32 bits
                k = ((long) (rng.nextInt(64) - 32) << 32) | (rng.nextLong() & 0xFFFF_FFFFL);
            } while (!seen.add(k));
            keys[j] = k;
        }
        int[] expected = IntStream.range(0, m).boxed().sorted((x, y) -> Long.compare(keys[x], keys[y]))
                .mapToInt(Integer::intValue).toArray();
        assertArrayEquals(expected, Base64Shuffle.sortByKey(keys));
    }

    @Test
    void bucketsKeepOneBucketNearAThirdOfTheBudgetAndRefuseABudgetFarTooSmall() {
        assertEquals(1, Base64Shuffle.buckets(0, 1 << 20));
        assertEquals(1, Base64Shuffle.buckets(300_000, 1 << 20));
        long gb = 1L << 30;
        int b = Base64Shuffle.buckets(20 * gb, 512L << 20); // the case: 20 GB with -Xmx512m
        assertEquals(true, b > 60 && b <= Base64Shuffle.MAX_BUCKETS, "buckets " + b);
        assertEquals(Base64Shuffle.buckets(gb, 2 * gb), Base64Shuffle.buckets(gb, 64 * gb), "a bucket is at most 1 GiB");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Base64Shuffle.buckets(100 * gb, 1 << 20));
        assertEquals(true, e.getMessage().startsWith("memory_mb : 1 (expected: >= "), e.getMessage());
    }

    @Test
    void keysAreUniquePerLineAndBucketsPartitionTheKeyOrder() {
        long a = TestSeed.of("a");
        long b = TestSeed.of("b");
        int n = 100_000;
        long[] keys = new long[n];
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            keys[i] = Base64Shuffle.key(i, a, b);
            seen.add(keys[i]);
        }
        assertEquals(n, seen.size());
        long[] sorted = keys.clone();
        for (int i = 0; i < n; i++) {
            sorted[i] ^= Long.MIN_VALUE;
        }
        Arrays.sort(sorted);
        int buckets = 7;
        int last = 0;
        int[] count = new int[buckets];
        for (long s : sorted) {
            long key = s ^ Long.MIN_VALUE;
            int bucket = (int) (((key >>> 32) * buckets) >>> 32);
            assertEquals(true, bucket >= last, "bucket order follows key order");
            last = bucket;
            count[bucket]++;
        }
        for (int c : count) { // uniform keys: each bucket near n / B
            assertEquals(n / (double) buckets, c, 5 * Math.sqrt(n / (double) buckets));
        }
    }
}
