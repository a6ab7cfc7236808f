package org.plsc4j.hdfs.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.security.PrivilegedExceptionAction;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.security.UserGroupInformation;
import org.plsc4j.hdfs.HdfsConfig;
import org.plsc4j.hdfs.HdfsException;

/**
 * Opens a private {@link FileSystem} instance (not Hadoop's shared cache, so closing it cannot break
 * another user of the same URI) as the configured identity: a Kerberos principal logged in from its
 * keytab, a simple-auth remote user, or the current user.
 */
public final class HadoopFileSystems {

    private HadoopFileSystems() {
    }

    /** The Hadoop configuration: defaults plus {@code config.conf()}. */
    public static Configuration configuration(HdfsConfig config) {
        Configuration conf = new Configuration();
        config.conf().forEach(conf::set);
        if (config.principal() != null) {
            conf.set("hadoop.security.authentication", "kerberos");
        }
        return conf;
    }

    /** Connects; errors name the URI and the identity. */
    public static FileSystem open(HdfsConfig config) throws IOException {
        Configuration conf = configuration(config);
        URI uri;
        try {
            uri = URI.create(config.fsName());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("fs_name : " + config.fsName() + " (expected: a URI, e.g. hdfs://nn:9000)", e);
        }
        UserGroupInformation ugi;
        String who;
        if (config.principal() != null) {
            UserGroupInformation.setConfiguration(conf);
            ugi = UserGroupInformation.loginUserFromKeytabAndReturnUGI(config.principal(), config.keytab());
            who = "principal " + config.principal();
        } else if (config.user() != null) {
            ugi = UserGroupInformation.createRemoteUser(config.user());
            who = "user " + config.user();
        } else {
            ugi = UserGroupInformation.getCurrentUser();
            who = "current user " + ugi.getShortUserName();
        }
        try {
            return ugi.doAs((PrivilegedExceptionAction<FileSystem>) () -> FileSystem.newInstance(uri, conf));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("connecting to " + uri + " interrupted");
        } catch (IOException e) {
            throw new HdfsException("fs_name : " + uri + " (cannot connect as " + who + ": " + e.getMessage() + ")", e);
        }
    }
}
