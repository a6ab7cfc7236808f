package org.plsc4j.data.internal;

import java.io.IOException;
import java.io.OutputStream;

/**
 * An unsynchronised buffered output stream: {@link java.io.BufferedOutputStream}'s methods take a
 * lock per call, which cost as much as the copy for the millions of short lines {@link Base64Shuffle}
 * writes. Single-threaded use only.
 */
final class ByteOut extends OutputStream {

    private final OutputStream out;
    private final byte[] buf;
    private int n;
    private boolean closed;

    ByteOut(OutputStream out, int size) {
        this.out = out;
        this.buf = new byte[size];
    }

    @Override
    public void write(int b) throws IOException {
        if (n == buf.length) {
            drain();
        }
        buf[n++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (len > buf.length - n) {
            drain();
            if (len >= buf.length) {
                out.write(b, off, len);
                return;
            }
        }
        System.arraycopy(b, off, buf, n, len);
        n += len;
    }

    private void drain() throws IOException {
        if (n > 0) {
            out.write(buf, 0, n);
            n = 0;
        }
    }

    @Override
    public void flush() throws IOException {
        drain();
        out.flush();
    }

    /** Flushes and closes the stream under it; idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            drain();
        } finally {
            out.close();
        }
    }
}
