package org.plsc4j.hdfs.internal;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.ParentNotDirectoryException;
import org.apache.hadoop.fs.UnsupportedFileSystemException;
import org.apache.hadoop.security.AccessControlException;
import org.plsc4j.hdfs.HdfsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounded retries with exponential backoff for remote operations: transient I/O errors (a datanode
 * gone, a connection reset, a namenode in safe mode) are tried again; permanent ones (missing file,
 * permission denied, a checksum mismatch) fail at once. The final error names the operation and path.
 */
public final class Retry {

    private static final Logger LOG = LoggerFactory.getLogger(Retry.class);

    /** A remote operation. */
    @FunctionalInterface
    public interface Op<T> {
        /** Runs once. */
        T run() throws IOException;
    }

    private final int attempts;
    private final Duration backoff;

    /** At most {@code attempts} tries, waiting {@code backoff}, 2·backoff, … between them. */
    public Retry(int attempts, Duration backoff) {
        this.attempts = attempts;
        this.backoff = backoff;
    }

    /** Runs {@code op}; {@code what} and {@code path} name it in logs and in the final error. */
    public <T> T call(String what, String path, Op<T> op) throws IOException {
        long wait = backoff.toMillis();
        for (int attempt = 1; ; attempt++) {
            try {
                return op.run();
            } catch (IOException e) {
                if (!isTransient(e)) {
                    if (e instanceof HdfsException) {
                        throw e;
                    }
                    throw new HdfsException(what + " " + path + " failed: " + e, e);
                }
                if (attempt >= attempts) {
                    throw new HdfsException(what + " " + path + " failed after " + attempt + " attempt"
                            + (attempt == 1 ? "" : "s") + ": " + e, e);
                }
                LOG.warn("{} {} failed (attempt {} of {}), retrying in {} ms: {}", what, path, attempt, attempts, wait,
                        e.toString());
                try {
                    Thread.sleep(wait); // backoff between tries, not synchronisation
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    InterruptedIOException io = new InterruptedIOException(what + " " + path + " interrupted");
                    io.initCause(e);
                    throw io;
                }
                wait = Math.min(wait * 2, 60_000);
            }
        }
    }

    /** Whether trying again may help. */
    public static boolean isTransient(IOException e) {
        return !(e instanceof HdfsException || e instanceof FileNotFoundException
                || e instanceof AccessControlException || e instanceof FileAlreadyExistsException
                || e instanceof ParentNotDirectoryException || e instanceof UnsupportedFileSystemException
                || e instanceof InterruptedIOException);
    }
}
