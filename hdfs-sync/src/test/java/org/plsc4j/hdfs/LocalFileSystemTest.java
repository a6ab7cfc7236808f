package org.plsc4j.hdfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TestSeed;
import org.plsc4j.hdfs.cli.HdfsCommand;
import picocli.CommandLine;

/**
 * The same code path with no server: {@code file://} (the default when fs_name is unset) round trips;
 * a failed background upload is reported and fails the drain naming the path; the CLI's push/pull.
 */
@ExtendWith(TestSeed.class)
class LocalFileSystemTest {

    @TempDir
    Path dir;

    @Test
    void fileSystemWithoutServerRoundTrips() throws Exception {
        Path local = TestCheckpoints.write(dir.resolve("save"), 7, 33, 8, 2, TestSeed.of("local"));
        Path remote = dir.resolve("remote");
        try (HdfsSync s = HdfsSync.connect(HdfsConfig.simple(null, null))) {
            assertEquals(HdfsConfig.LOCAL, s.config().fsName());
            HdfsSync.Transfer up = s.upload(local, remote.toString());
            assertEquals("file:" + remote.resolve("7"), up.remote());
            HdfsSync.Transfer down = s.download(remote.toString(), dir.resolve("load"));
            Map<String, byte[]> a = TestCheckpoints.files(local);
            Map<String, byte[]> b = TestCheckpoints.files(down.local());
            assertEquals(a.keySet(), b.keySet());
            a.forEach((k, v) -> assertArrayEquals(v, b.get(k), k));
            Checkpoint.open(down.local()).verifyAll();
        }
    }

    @Test
    void aFailedBackgroundUploadIsReportedAndFailsTheDrain() throws Exception {
        Path local = TestCheckpoints.write(dir.resolve("save"), 0, 10, 4, 1, TestSeed.of("fail"));
        Path blocker = dir.resolve("not-a-dir");
        Files.writeString(blocker, "a file where the remote directory should be");
        List<CheckpointUploader.Result> seen = new CopyOnWriteArrayList<>();
        try (HdfsSync s = HdfsSync.connect(HdfsConfig.simple(null, null).withRetries(2, Duration.ofMillis(1)))) {
            CheckpointUploader up = new CheckpointUploader(s, blocker.toString(), 0, seen::add);
            up.start();
            up.submit(local, 0);
            HdfsException e = assertThrows(HdfsException.class, up::drain);
            assertTrue(e.getMessage().contains("epoch 0") && e.getMessage().contains(blocker.getFileName().toString()),
                    e.getMessage());
            assertEquals(1, seen.size());
            assertNotNull(seen.get(0).error());
            assertThrows(IllegalStateException.class, up::start, "start() once");
            up.close();
            up.close(); // idempotent
        }
    }

    @Test
    void cliPushesAndPulls() throws Exception {
        Path save = dir.resolve("cli-save");
        TestCheckpoints.write(save, 1, 12, 4, 2, TestSeed.of("cli-1"));
        Path newest = TestCheckpoints.write(save, 2, 12, 4, 2, TestSeed.of("cli-2"));
        Path remote = dir.resolve("cli-remote");
        String out = run("push", "--src", save.toString(), "--dst", remote.toString(), "--fs-ugi", "me,pw");
        assertTrue(out.startsWith("hdfs push: remote=") && out.contains("/cli-remote/2"), out);
        out = run("pull", "--fs-name", "file:///", "--src", remote.toString(), "--dst", dir.resolve("cli-load").toString());
        assertTrue(out.contains("files=8 skipped=0"), out); // 4 shard files, 2 backbone, 1 optimizer, manifest
        assertArrayEquals(Files.readAllBytes(newest.resolve("fc/rank-00001-weights.npy")),
                Files.readAllBytes(dir.resolve("cli-load/2/fc/rank-00001-weights.npy")));
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(HdfsCommand.class);
        cl.setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute("push", "--src", dir.resolve("nothing").toString(), "--dst", "x"));
        assertTrue(err.toString().contains("--src : "), err.toString());
        assertEquals(2, cl.execute("pull", "--conf", "mapred.x=1", "--src", "x", "--dst", "y"));
        assertTrue(err.toString().contains("--conf : mapred.x"), err.toString());
    }

    private static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(HdfsCommand.class);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        assertEquals(0, code, err.toString());
        return out.toString().trim();
    }
}
