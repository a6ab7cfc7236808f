package org.plsc4j.checkpoint.internal;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.plsc4j.checkpoint.Manifest;
import org.plsc4j.core.ClassLayout;

/**
 * The checks a parsed manifest must pass before anything is read: format version, a valid class
 * layout whose ranges the shards match, and every referenced file listed once with a sane path, size
 * and hash. Messages name the field path, e.g. {@code shards[1].class_start : 3 (expected: 4)}.
 */
public final class ManifestValidator {

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SAFE_PATH = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*");

    private ManifestValidator() {
    }

    /** Throws IllegalArgumentException naming the first bad field. */
    public static void validate(Manifest m) {
        present(m.layout(), "layout");
        present(m.shards(), "shards");
        present(m.backbone(), "backbone");
        present(m.files(), "files");
        present(m.config(), "config");
        present(m.provenance(), "provenance");
        Manifest.Provenance p = m.provenance();
        present(p.plsc4jVersion(), "provenance.plsc4j_version");
        present(p.nd4jVersion(), "provenance.nd4j_version");
        present(p.javaVersion(), "provenance.java_version");
        present(p.os(), "provenance.os");
        present(p.createdAt(), "provenance.created_at");
        present(p.hostname(), "provenance.hostname");
        check(m.formatVersion() == Manifest.FORMAT_VERSION, "format_version : " + m.formatVersion() + " (expected: "
                + Manifest.FORMAT_VERSION + "; written by a newer plsc4j?)");
        check(m.numClasses() >= 1, "num_classes : " + m.numClasses() + " (expected: >= 1)");
        check(m.embSize() >= 1, "emb_size : " + m.embSize() + " (expected: >= 1)");
        check(m.worldSize() >= 1, "world_size : " + m.worldSize() + " (expected: >= 1)");
        check(m.step() >= 0, "step : " + m.step() + " (expected: >= 0)");
        check(m.epoch() >= 0, "epoch : " + m.epoch() + " (expected: >= 0)");
        check("balanced".equals(m.layout()) || "ceil".equals(m.layout()),
                "layout : \"" + m.layout() + "\" (expected: \"balanced\" or \"ceil\")");
        ClassLayout layout = m.classLayout();
        check(m.provenance().worldSize() >= 1, "provenance.world_size : " + m.provenance().worldSize() + " (expected: >= 1)");

        Set<String> listed = new HashSet<>();
        List<Manifest.FileEntry> files = m.files();
        for (int i = 0; i < files.size(); i++) {
            Manifest.FileEntry f = files.get(i);
            String where = "files[" + i + "]";
            check(f != null, where + " : null (expected: {path, bytes, sha256})");
            checkPath(f.path(), where + ".path");
            check(listed.add(f.path()), where + ".path : \"" + f.path() + "\" (expected: each file listed once)");
            check(f.bytes() >= 0, where + ".bytes : " + f.bytes() + " (expected: >= 0)");
            present(f.sha256(), where + ".sha256");
            check(SHA256.matcher(f.sha256()).matches(), where + ".sha256 : \"" + f.sha256()
                    + "\" (expected: 64 lowercase hex digits)");
        }

        check(m.shards().size() == m.worldSize(), "shards : " + m.shards().size() + " entries (expected: world_size = "
                + m.worldSize() + ")");
        for (int r = 0; r < m.worldSize(); r++) {
            Manifest.Shard s = m.shards().get(r);
            String where = "shards[" + r + "]";
            check(s != null, where + " : null (expected: a shard)");
            check(s.rank() == r, where + ".rank : " + s.rank() + " (expected: " + r + ", shards in rank order)");
            check(s.classStart() == layout.start(r), where + ".class_start : " + s.classStart() + " (expected: "
                    + layout.start(r) + " for " + layout + ")");
            check(s.classEnd() == layout.end(r), where + ".class_end : " + s.classEnd() + " (expected: "
                    + layout.end(r) + " for " + layout + ")");
            referenced(listed, s.weights(), where + ".weights");
            referenced(listed, s.momentum(), where + ".momentum");
            check((s.bias() == null) == (s.biasMomentum() == null), where + ".bias : " + s.bias()
                    + ", bias_momentum : " + s.biasMomentum() + " (expected: both or neither)");
            check((s.bias() == null) == (m.shards().get(0).bias() == null), where + ".bias : " + s.bias()
                    + " (expected: a bias on every shard or on none, as shards[0])");
            if (s.bias() != null) {
                referenced(listed, s.bias(), where + ".bias");
                referenced(listed, s.biasMomentum(), where + ".bias_momentum");
            }
        }
        for (Map.Entry<String, String> e : m.backbone().entrySet()) {
            referenced(listed, e.getValue(), "backbone[\"" + e.getKey() + "\"]");
        }
        for (Map.Entry<String, Map<String, String>> g : m.arrays().entrySet()) {
            check(g.getValue() != null, "arrays[\"" + g.getKey() + "\"] : null (expected: an object of name -> file)");
            for (Map.Entry<String, String> e : g.getValue().entrySet()) {
                referenced(listed, e.getValue(), "arrays[\"" + g.getKey() + "\"][\"" + e.getKey() + "\"]");
            }
        }
    }

    private static void present(Object value, String field) {
        check(value != null, field + " : null (expected: a value)");
    }

    private static void referenced(Set<String> listed, String path, String where) {
        check(path != null, where + " : null (expected: a file path)");
        check(listed.contains(path), where + " : \"" + path + "\" (expected: a path listed in files)");
    }

    /** Relative, '/'-separated, no "." or ".." segments, no leading dot: a path cannot leave the checkpoint directory. */
    public static void checkPath(String path, String where) {
        check(path != null && SAFE_PATH.matcher(path).matches() && !path.contains("/.") && !path.equals("manifest.json"),
                where + " : \"" + path + "\" (expected: a relative path of [A-Za-z0-9._-] segments not starting with '.')");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
