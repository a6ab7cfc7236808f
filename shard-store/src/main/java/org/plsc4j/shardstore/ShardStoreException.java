package org.plsc4j.shardstore;

/** A block could not be written or read (I/O error, corrupt block, cluster lost data). */
public class ShardStoreException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ShardStoreException(String message) {
        super(message);
    }

    public ShardStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
