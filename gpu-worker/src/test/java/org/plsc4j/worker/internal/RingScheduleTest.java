package org.plsc4j.worker.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.collective.ReduceOp;

/**
 * Executes the ring plans of all ranks against each other in memory (no sockets) for many world
 * sizes and element counts, so that the schedule arithmetic is checked independently of the
 * transport.
 */
class RingScheduleTest {

    private static final int[] COUNTS = {0, 1, 2, 3, 5, 7, 16, 101};

    /** Runs the plans step by step; each stream is what rank r wrote to rank r+1. */
    private static byte[][] simulate(List<RingSchedule.Plan> plans, byte[][] memory, ReduceOp op) {
        int n = plans.size();
        Reducer reducer = new Reducer();
        ByteArrayOutputStream[] streams = new ByteArrayOutputStream[n];
        int[] readPos = new int[n];
        int[] stepIndex = new int[n];
        for (int r = 0; r < n; r++) {
            streams[r] = new ByteArrayOutputStream();
            for (RingSchedule.Slice s : plans.get(r).initialSends()) {
                streams[r].write(memory[r], s.offset(), s.length());
            }
        }
        boolean progress = true;
        while (progress) {
            progress = false;
            for (int r = 0; r < n; r++) {
                int prev = (r - 1 + n) % n;
                List<RingSchedule.Step> steps = plans.get(r).receives();
                while (stepIndex[r] < steps.size()) {
                    RingSchedule.Step s = steps.get(stepIndex[r]);
                    byte[] incoming = streams[prev].toByteArray();
                    if (incoming.length - readPos[prev] < s.length()) {
                        break;
                    }
                    if (s.reduce()) {
                        ByteBuffer acc = ByteBuffer.wrap(memory[r], s.offset(), s.length()).slice();
                        ByteBuffer in = ByteBuffer.wrap(incoming, readPos[prev], s.length()).slice();
                        reducer.reduce(ElementType.INT, op, acc, in);
                    } else {
                        System.arraycopy(incoming, readPos[prev], memory[r], s.offset(), s.length());
                    }
                    readPos[prev] += s.length();
                    if (s.forward()) {
                        streams[r].write(memory[r], s.offset(), s.length());
                    }
                    stepIndex[r]++;
                    progress = true;
                }
            }
        }
        for (int r = 0; r < n; r++) {
            assertEquals(plans.get(r).receives().size(), stepIndex[r], "rank " + r + " is stuck (deadlocked schedule)");
            int next = (r + 1) % n;
            assertEquals(streams[r].size(), readPos[r], "rank " + next + " did not consume all of rank " + r + "'s bytes");
            assertEquals(plans.get(r).bytesOut(), streams[r].size(), "bytesOut of rank " + r);
            assertEquals(plans.get(next).bytesIn(), streams[r].size(), "bytesIn of rank " + next);
        }
        return memory;
    }

    private static int[] ints(byte[] b) {
        int[] out = new int[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
        return out;
    }

    private static byte[] bytes(int[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(v);
        return b.array();
    }

    private static int[] random(long seed, int count) {
        return new SplittableRandom(seed).ints(count, -1000, 1000).toArray();
    }

    @Test
    void allGather() {
        for (int n = 2; n <= 6; n++) {
            for (int count : COUNTS) {
                byte[][] mem = new byte[n][];
                int[] expected = new int[count * n];
                List<RingSchedule.Plan> plans = new java.util.ArrayList<>();
                for (int r = 0; r < n; r++) {
                    int[] mine = random(r, count);
                    System.arraycopy(mine, 0, expected, r * count, count);
                    int[] initial = new int[count * n];
                    System.arraycopy(mine, 0, initial, r * count, count);
                    mem[r] = bytes(initial);
                    plans.add(RingSchedule.allGather(r, n, count * 4));
                }
                simulate(plans, mem, null);
                for (int r = 0; r < n; r++) {
                    assertArrayEquals(expected, ints(mem[r]), "n=" + n + " count=" + count + " rank " + r);
                }
            }
        }
    }

    @Test
    void reduceScatterAndAllReduce() {
        for (ReduceOp op : ReduceOp.values()) {
            for (int n = 2; n <= 6; n++) {
                for (int count : COUNTS) {
                    int[][] data = new int[n][];
                    for (int r = 0; r < n; r++) {
                        data[r] = random(31L * r + count, count * n);
                    }
                    int[] total = data[0].clone();
                    for (int r = 1; r < n; r++) {
                        for (int i = 0; i < total.length; i++) {
                            total[i] = op.apply(total[i], data[r][i]);
                        }
                    }
                    // reduce-scatter: blocks of `count`
                    byte[][] mem = new byte[n][];
                    List<RingSchedule.Plan> plans = new java.util.ArrayList<>();
                    for (int r = 0; r < n; r++) {
                        mem[r] = bytes(data[r]);
                        plans.add(RingSchedule.reduceScatter(r, n, count * 4));
                    }
                    simulate(plans, mem, op);
                    for (int r = 0; r < n; r++) {
                        assertArrayEquals(Arrays.copyOfRange(total, r * count, (r + 1) * count),
                                Arrays.copyOfRange(ints(mem[r]), r * count, (r + 1) * count),
                                "reduceScatter " + op + " n=" + n + " count=" + count + " rank " + r);
                    }
                    // all-reduce over count*n + 1 elements (never divisible by n > 1)
                    int len = count * n + 1;
                    int[] totalAr = new int[len];
                    plans.clear();
                    for (int r = 0; r < n; r++) {
                        int[] v = Arrays.copyOf(data[r], len);
                        v[len - 1] = r * 7 - 3;
                        mem[r] = bytes(v);
                        for (int i = 0; i < len; i++) {
                            totalAr[i] = r == 0 ? v[i] : op.apply(totalAr[i], v[i]);
                        }
                        plans.add(RingSchedule.allReduce(r, n, len, 4));
                    }
                    simulate(plans, mem, op);
                    for (int r = 0; r < n; r++) {
                        assertArrayEquals(totalAr, ints(mem[r]), "allReduce " + op + " n=" + n + " len=" + len + " rank " + r);
                    }
                }
            }
        }
    }

    @Test
    void broadcast() {
        for (int n = 2; n <= 6; n++) {
            for (int root = 0; root < n; root++) {
                byte[][] mem = new byte[n][];
                List<RingSchedule.Plan> plans = new java.util.ArrayList<>();
                for (int r = 0; r < n; r++) {
                    mem[r] = bytes(random(r + 100L * root, 9));
                    plans.add(RingSchedule.broadcast(r, n, root, 36));
                }
                byte[] expected = mem[root].clone();
                simulate(plans, mem, null);
                for (int r = 0; r < n; r++) {
                    assertArrayEquals(expected, mem[r], "n=" + n + " root=" + root + " rank " + r);
                }
            }
        }
    }

    @Test
    void blocksCoverTheBufferExactly() {
        for (int n = 1; n <= 7; n++) {
            for (int elements = 0; elements < 30; elements++) {
                int next = 0;
                for (int b = 0; b < n; b++) {
                    assertEquals(next, RingSchedule.blockStart(b, n, elements));
                    int len = RingSchedule.blockLength(b, n, elements);
                    assertTrue(len == elements / n || len == elements / n + 1);
                    next += len;
                }
                assertEquals(elements, next);
            }
        }
    }
}
