package org.plsc4j.hdfs;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.plsc4j.core.TrainConfig;

/**
 * How to reach the remote file system and how hard to try.
 *
 * <p>Why a record separate from {@link TrainConfig}: the CLI ({@code ./plsc4j hdfs push|pull}) and the
 * benchmark connect without a training job; {@link #of(TrainConfig)} maps the job keys.
 *
 * @param fsName file system URI ({@code hdfs://namenode:9000}, {@code file:///}); null = {@code file:///}
 * @param user Hadoop simple-auth user (PLSC's {@code fs_ugi} user part), or null for the current user
 * @param principal Kerberos principal (with {@code keytab}), or null
 * @param keytab Kerberos keytab file, or null
 * @param conf extra Hadoop settings ({@code hadoop.*}, {@code dfs.*}, {@code fs.*})
 * @param attempts tries per remote operation on transient errors (>= 1)
 * @param backoff wait before the second try; doubled after each failure
 * @param verifyReadBack after an upload, read every remote file back and compare its sha256 with the
 *     manifest (the bytes sent are always hashed and the remote sizes always checked)
 */
public record HdfsConfig(String fsName, String user, String principal, String keytab, Map<String, String> conf,
                         int attempts, Duration backoff, boolean verifyReadBack) {

    /** The file system used when {@code fs_name} is unset. */
    public static final String LOCAL = "file:///";

    /** Validates; copies {@code conf}. */
    public HdfsConfig {
        fsName = fsName == null || fsName.isBlank() ? LOCAL : fsName;
        conf = conf == null ? Map.of() : Map.copyOf(new TreeMap<>(conf));
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts : " + attempts + " (expected: >= 1)");
        }
        if (backoff == null || backoff.isNegative()) {
            throw new IllegalArgumentException("backoff : " + backoff + " (expected: >= 0)");
        }
        if ((principal == null) != (keytab == null)) {
            throw new IllegalArgumentException("hdfs_principal : " + principal + ", hdfs_keytab : " + keytab
                    + " (expected: both set, or neither)");
        }
    }

    /** {@code fsName} with simple auth as {@code user} (null: the current user), 4 attempts from 1 s, read-back on. */
    public static HdfsConfig simple(String fsName, String user) {
        return new HdfsConfig(fsName, user, null, null, Map.of(), 4, Duration.ofSeconds(1), true);
    }

    /** The job's fs_name, fs_ugi (user part; Hadoop simple auth has no password), hdfs_principal/keytab, hdfs_conf. */
    public static HdfsConfig of(TrainConfig c) {
        return new HdfsConfig(c.fsName(), ugiUser(c.fsUgi()), blankToNull(c.hdfsPrincipal()),
                blankToNull(c.hdfsKeytab()), c.hdfsConf(), 4, Duration.ofSeconds(1), true);
    }

    /** The user of PLSC's {@code "user,password"}, or null. */
    public static String ugiUser(String fsUgi) {
        if (fsUgi == null || fsUgi.isBlank()) {
            return null;
        }
        int comma = fsUgi.indexOf(',');
        return comma < 0 ? fsUgi.trim() : fsUgi.substring(0, comma).trim();
    }

    /** A copy with other retry settings (tests use few, short ones). */
    public HdfsConfig withRetries(int attempts, Duration backoff) {
        return new HdfsConfig(fsName, user, principal, keytab, conf, attempts, backoff, verifyReadBack);
    }

    /** A copy with read-back verification on or off. */
    public HdfsConfig withVerifyReadBack(boolean on) {
        return new HdfsConfig(fsName, user, principal, keytab, conf, attempts, backoff, on);
    }

    /** A copy with one more Hadoop setting. */
    public HdfsConfig with(String key, String value) {
        Map<String, String> m = new TreeMap<>(conf);
        m.put(key, value);
        return new HdfsConfig(fsName, user, principal, keytab, m, attempts, backoff, verifyReadBack);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
