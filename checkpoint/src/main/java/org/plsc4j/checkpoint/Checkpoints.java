package org.plsc4j.checkpoint;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.plsc4j.checkpoint.internal.Durable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finding checkpoints in a model directory and cleaning up what crashed writers left behind.
 *
 * <p>Why here and not in the trainer: "which checkpoint do I resume from" must ignore hidden staging
 * directories of a write that never committed, and that rule belongs next to the code that creates
 * them. Checkpoints live in {@code <model_save_dir>/<epoch>/}; staging directories are
 * {@code .<name>.tmp-<stagingId>}, and a checkpoint being replaced is moved aside to
 * {@code .<name>.old-<stagingId>} for the instant of the swap.
 */
public final class Checkpoints {

    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
    private static final Pattern EPOCH = Pattern.compile("[0-9]{1,18}");
    private static final Pattern HIDDEN = Pattern.compile("\\.(.+)\\.(tmp|old)-([A-Za-z0-9_][A-Za-z0-9._-]*)");

    private Checkpoints() {
    }

    /** The directory of epoch {@code epoch}'s checkpoint in {@code modelSaveDir}. */
    public static Path epochDir(Path modelSaveDir, int epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch : " + epoch + " (expected: >= 0)");
        }
        return modelSaveDir.resolve(Integer.toString(epoch));
    }

    /**
     * The newest complete checkpoint in {@code modelSaveDir}: the directory with the highest numeric
     * name that holds a {@code manifest.json}. Staging and aside directories (hidden names), other
     * names and numeric directories without a manifest are ignored; empty when there is none.
     */
    public static Optional<Path> latest(Path modelSaveDir) throws IOException {
        Path best = null;
        long bestEpoch = -1;
        if (!Files.isDirectory(modelSaveDir)) {
            return Optional.empty();
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(modelSaveDir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (EPOCH.matcher(n).matches() && Files.isRegularFile(p.resolve(Manifest.FILE_NAME))) {
                    long e = Long.parseLong(n);
                    if (e > bestEpoch) {
                        bestEpoch = e;
                        best = p;
                    }
                }
            }
        }
        return Optional.ofNullable(best);
    }

    /** The staging ({@code .tmp-}) and aside ({@code .old-}) directories in {@code parent}, sorted. */
    public static List<Path> listStaging(Path parent) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(parent)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent)) {
            for (Path p : ds) {
                if (Files.isDirectory(p) && HIDDEN.matcher(p.getFileName().toString()).matches()) {
                    out.add(p);
                }
            }
        }
        out.sort(null);
        return out;
    }

    /**
     * Removes what crashed writers left in {@code parent} and returns the removed directories:
     * staging directories are deleted; an aside directory is deleted when its checkpoint exists, and
     * renamed back to it when it does not (the crash happened between the two renames of a replace,
     * so the aside copy is the only complete one). Call it only when no job is writing into
     * {@code parent}: a live writer's staging directory looks the same as a dead one's.
     */
    public static List<Path> cleanStaging(Path parent) throws IOException {
        List<Path> removed = new ArrayList<>();
        for (Path p : listStaging(parent)) {
            Matcher m = HIDDEN.matcher(p.getFileName().toString());
            if (!m.matches()) {
                continue;
            }
            Path target = parent.resolve(m.group(1));
            if (m.group(2).equals("old") && !Files.exists(target)) {
                try {
                    Files.move(p, target, StandardCopyOption.ATOMIC_MOVE);
                    LOG.warn("restored {} from {} (a replace was interrupted)", target, p);
                    continue;
                } catch (NoSuchFileException e) {
                    continue; // someone else cleaned it
                }
            }
            Durable.deleteRecursively(p);
            removed.add(p);
        }
        if (!removed.isEmpty()) {
            Durable.fsyncDir(parent);
            LOG.info("removed {} leftover staging director{} in {}", removed.size(), removed.size() == 1 ? "y" : "ies", parent);
        }
        return removed;
    }

    static String stagingName(String name, String stagingId) {
        return "." + name + ".tmp-" + stagingId;
    }

    static String asideName(String name, String stagingId) {
        return "." + name + ".old-" + stagingId;
    }
}
