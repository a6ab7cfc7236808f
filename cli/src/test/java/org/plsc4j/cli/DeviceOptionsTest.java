package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.Device;

/**
 * {@code --device cuda} where CUDA cannot run (this machine: no GPU; a GPU machine with the default build:
 * no CUDA backend) fails before anything starts, with one line naming the device and what is supported:
 * never a stack trace or an UnsatisfiedLinkError.
 */
class DeviceOptionsTest {

    private static void assertOneSentence(CliRun r, String command, String device) {
        assertEquals(Main.EXIT_FAILURE, r.code(), r.err());
        String line = r.err().strip();
        assertEquals(1, line.lines().count(), r.err());
        assertTrue(line.startsWith(command + ": device " + device + " : "), line);
        assertTrue(line.contains("(expected: "), line);
        assertFalse(line.contains("LinkError") || line.contains("Exception") || line.contains("\tat "), line);
        assertTrue(line.contains("no NVIDIA GPU found") || line.contains("built without CUDA"), line);
    }

    @Test
    void workerTrainAndBenchRefuseCudaHereWithOneSentence(@TempDir Path tmp) throws Exception {
        Path token = Files.writeString(tmp.resolve("token"), "t");
        // nothing listens on port 1: the device check must come before ZooKeeper
        assertOneSentence(CliRun.of("worker", "--job", "j", "--zk", "127.0.0.1:1", "--token-file", token.toString(),
                "--device", "cuda:0"), "plsc4j worker", "cuda:0");
        assertOneSentence(CliRun.of("train", "--config", tmp.resolve("missing.yaml").toString(), "--workers", "2",
                "--device", "cuda"), "plsc4j train", "cuda:0");
        assertOneSentence(CliRun.of("bench", "fc", "--device", "cuda:1", "--no-dl4j"), "plsc4j bench fc", "cuda:1");
        assertFalse(Device.cudaBackendInBuild(), "the default build has no CUDA backend");
    }

    @Test
    void badDeviceNamesAreErrorsNamingTheValue(@TempDir Path tmp) throws Exception {
        Path token = Files.writeString(tmp.resolve("token"), "t");
        CliRun r = CliRun.of("worker", "--job", "j", "--zk", "127.0.0.1:1", "--token-file", token.toString(),
                "--device", "tpu");
        assertEquals(Main.EXIT_FAILURE, r.code());
        assertEquals("plsc4j worker: device : tpu (expected: cpu, cuda or cuda:K with K >= 0)", r.err().strip());
    }
}
