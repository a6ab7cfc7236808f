package org.plsc4j.core.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.plsc4j.core.GpuProbe;

/** {@link GpuProbe} of this machine: {@code nvidia-smi}, else {@code /proc/driver/nvidia/gpus}. */
public final class SystemGpuProbe implements GpuProbe {

    private final Path procDir;
    private final List<String> smiCommand;

    /** The real machine. */
    public SystemGpuProbe() {
        this(Path.of("/proc/driver/nvidia/gpus"),
                List.of("nvidia-smi", "--query-gpu=index,name,compute_cap", "--format=csv,noheader"));
    }

    /** With another driver directory and command (tests). */
    public SystemGpuProbe(Path procDir, List<String> smiCommand) {
        this.procDir = procDir;
        this.smiCommand = List.copyOf(smiCommand);
    }

    @Override
    public List<Gpu> gpus() {
        List<Gpu> smi = fromSmi();
        return smi != null ? smi : fromProc();
    }

    /** Parses {@code nvidia-smi}'s CSV lines "0, NVIDIA A100-SXM4-40GB, 8.0"; null when it cannot run. */
    List<Gpu> fromSmi() {
        try {
            Process p = new ProcessBuilder(smiCommand).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return null;
            }
            return parseSmi(new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The GPUs of nvidia-smi's output (lines that do not parse are skipped). */
    public static List<Gpu> parseSmi(String csv) {
        List<Gpu> out = new ArrayList<>();
        for (String line : csv.split("\n")) {
            String[] f = line.split(",");
            if (f.length < 3) {
                continue;
            }
            try {
                int index = Integer.parseInt(f[0].strip());
                out.add(new Gpu(index, f[1].strip(), capability(f[2].strip())));
            } catch (NumberFormatException e) {
                // a header or a message: not a GPU line
            }
        }
        return out;
    }

    private static int capability(String s) {
        String[] p = s.split("\\.");
        try {
            return p.length == 2 ? Integer.parseInt(p[0]) * 10 + Integer.parseInt(p[1]) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** One entry per directory of the driver's GPU list, named from its "Model:" line. */
    List<Gpu> fromProc() {
        List<Gpu> out = new ArrayList<>();
        if (!Files.isDirectory(procDir)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(procDir)) {
            for (Path d : dirs.sorted().toList()) {
                String name = "NVIDIA GPU";
                Path info = d.resolve("information");
                if (Files.isReadable(info)) {
                    for (String line : Files.readAllLines(info, StandardCharsets.UTF_8)) {
                        if (line.startsWith("Model:")) {
                            name = line.substring(6).strip();
                        }
                    }
                }
                out.add(new Gpu(out.size(), name, -1));
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }
}
