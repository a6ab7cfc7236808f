package org.plsc4j.serving.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.serving.TinyExportAccess;
import picocli.CommandLine;

/** {@code plsc4j serve}: usage errors name the option; a real run prints its address, serves, and stops when interrupted. */
class ServeCommandTest {

    @TempDir
    Path tmp;

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new ServeCommand()).setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute("--model", tmp.toString(), "--max-batch", "0"));
        assertTrue(err.toString().contains("--max-batch : 0 (expected: 1 <= x <= 65536)"), err.toString());
        StringWriter err2 = new StringWriter();
        assertEquals(2, new CommandLine(new ServeCommand()).setErr(new PrintWriter(err2, true))
                .execute("--model", tmp.toString(), "--engine", "tensorrt"));
        assertTrue(err2.toString().contains("--engine : tensorrt (expected one of [samediff, onnxruntime])"),
                err2.toString());
        assertEquals(2, new CommandLine(new ServeCommand()).setErr(new PrintWriter(new StringWriter())).execute());
    }

    @Test
    void servesUntilInterruptedAndPrintsTheBoundAddress() throws Exception {
        Path model = TinyExportAccess.write(tmp.resolve("export"));
        CountDownLatch printed = new CountDownLatch(1);
        StringBuilder text = new StringBuilder();
        Writer out = new Writer() {
            @Override
            public void write(char[] c, int off, int len) {
                synchronized (text) {
                    text.append(c, off, len);
                    if (text.indexOf("\n") >= 0) {
                        printed.countDown();
                    }
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        AtomicInteger code = new AtomicInteger(-1);
        Thread t = new Thread(() -> code.set(new CommandLine(new ServeCommand()).setOut(new PrintWriter(out, true))
                .execute("--model", model.toString(), "--port", "0", "--engine", "onnxruntime")), "serve-command");
        t.start();
        try {
            assertTrue(printed.await(60, TimeUnit.SECONDS), "no address printed");
            String line;
            synchronized (text) {
                line = text.toString();
            }
            Matcher m = Pattern.compile("on http://127\\.0\\.0\\.1:(\\d+)").matcher(line);
            assertTrue(m.find(), line);
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + m.group(1) + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            HttpResponse<String> info = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + m.group(1) + "/v1/model")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("onnxruntime", new com.fasterxml.jackson.databind.ObjectMapper().readTree(info.body())
                    .get("engine").asText(), info.body());
        } finally {
            t.interrupt();
            t.join(30_000);
        }
        assertFalse(t.isAlive());
        assertEquals(0, code.get());
    }
}
