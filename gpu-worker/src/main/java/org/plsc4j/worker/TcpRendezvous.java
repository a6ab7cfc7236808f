package org.plsc4j.worker;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.Rendezvous;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Rendezvous} through a tiny TCP server at a well-known address, like torchrun's
 * {@code MASTER_ADDR:MASTER_PORT} store: every rank sends (job id, token, rank, world size, its
 * address) and gets back the full address list once all ranks have arrived.
 *
 * <p>Why: worker processes started by a launcher (or by hand) know one address and a secret, not
 * each other's ports; ports are bound as 0 and learnt here. The server is started by the launcher
 * or by rank 0 ({@link Server#start}); it serves any number of rounds (a new round begins when one
 * completes, e.g. when a group re-forms after a re-partition).
 *
 * <p>Wire format (DataOutput): request {@code int magic "PLRV", int version, UTF jobId, UTF token,
 * int rank, int worldSize, UTF address, long timeoutMillis}; reply {@code byte 0, int n, n × UTF}
 * or {@code byte 1, UTF error}. The server answers a rank that waited {@code timeoutMillis} with an
 * error naming the ranks still missing.
 */
public final class TcpRendezvous implements Rendezvous {

    private static final Logger LOG = LoggerFactory.getLogger(TcpRendezvous.class);
    private static final int MAGIC = 0x504c5256; // "PLRV"
    private static final int VERSION = 1;
    private static final byte OK = 0;
    private static final byte ERROR = 1;
    /** Extra time the client waits beyond its timeout for the server's verdict. */
    private static final long REPLY_GRACE_MILLIS = 5_000;

    private final String host;
    private final int port;
    private final String jobId;
    private final String token;

    /** A client of the server at {@code host:port} for the given job. */
    public TcpRendezvous(String host, int port, String jobId, String token) {
        this.host = Objects.requireNonNull(host, "host");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port : " + port + " (expected: 1..65535)");
        }
        this.port = port;
        this.jobId = Objects.requireNonNull(jobId, "jobId");
        this.token = Objects.requireNonNull(token, "token");
    }

    /** A client of the server at {@code "host:port"}. */
    public static TcpRendezvous parse(String hostPort, String jobId, String token) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("rendezvous : \"" + hostPort + "\" (expected: host:port)");
        }
        try {
            return new TcpRendezvous(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)),
                    jobId, token);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("rendezvous : \"" + hostPort + "\" (expected: host:port)", e);
        }
    }

    @Override
    public List<String> exchange(int rank, int worldSize, String myAddress, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String where = "rendezvous at " + host + ":" + port;
        try (Socket socket = connect(deadline, where, rank, timeout)) {
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis() + REPLY_GRACE_MILLIS));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeUTF(jobId);
            out.writeUTF(token);
            out.writeInt(rank);
            out.writeInt(worldSize);
            out.writeUTF(myAddress);
            out.writeLong(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            out.flush();
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            byte status = in.readByte();
            if (status != OK) {
                throw new CollectiveException(where + ": " + in.readUTF());
            }
            int n = in.readInt();
            if (n != worldSize) {
                throw new CollectiveException(where + ": answered " + n + " addresses for world_size " + worldSize);
            }
            List<String> addresses = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                addresses.add(in.readUTF());
            }
            return List.copyOf(addresses);
        } catch (SocketTimeoutException e) {
            throw new CollectiveException(where + ": rank " + rank + " got no answer within " + timeout
                    + " (+ " + REPLY_GRACE_MILLIS + " ms grace)", e);
        } catch (IOException e) {
            throw new CollectiveException(where + ": rank " + rank + ": " + e, e);
        }
    }

    private Socket connect(long deadline, String where, int rank, Duration timeout) throws IOException {
        long backoffMillis = 20;
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new CollectiveException(where + ": rank " + rank + " could not connect within " + timeout);
            }
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, left));
                return s;
            } catch (ConnectException e) {
                s.close();
                // the server may not be up yet (rank 0 or the launcher is still starting it): retry
                try {
                    Thread.sleep(Math.min(backoffMillis, Math.max(1, left)));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new CollectiveException(where + ": rank " + rank + " interrupted while connecting", ie);
                }
                backoffMillis = Math.min(500, backoffMillis * 2);
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }
    }

    /**
     * The rendezvous server: accepts ranks, answers each with the full address list once all
     * arrived (or with an error naming the missing ranks when the rank's timeout expires).
     */
    public static final class Server implements AutoCloseable {

        private static final AtomicInteger CONNECTIONS = new AtomicInteger();

        private final ServerSocket socket;
        private final String jobId;
        private final byte[] tokenDigest;
        private final Thread acceptor;
        private final Object lock = new Object();
        private Round round;
        private volatile boolean closed;

        /** Addresses of one group formation. */
        private static final class Round {
            final int worldSize;
            final String[] addresses;
            final java.util.Set<Integer> gaveUp = new java.util.TreeSet<>();
            int arrived;
            List<String> result;

            Round(int worldSize) {
                this.worldSize = worldSize;
                this.addresses = new String[worldSize];
            }

            /** Ranks that never arrived (ranks that arrived and gave up are listed separately). */
            List<Integer> neverArrived() {
                List<Integer> out = new ArrayList<>();
                for (int r = 0; r < worldSize; r++) {
                    if (addresses[r] == null && !gaveUp.contains(r)) {
                        out.add(r);
                    }
                }
                return out;
            }
        }

        private Server(ServerSocket socket, String jobId, String token) {
            this.socket = socket;
            this.jobId = jobId;
            this.tokenDigest = sha256(token.getBytes(StandardCharsets.UTF_8));
            this.acceptor = new Thread(this::acceptLoop, "plsc4j-rendezvous-" + socket.getLocalPort());
            this.acceptor.setDaemon(true);
        }

        /**
         * Starts a server on {@code host} (null: 127.0.0.1) and {@code port} (0: any free port, see
         * {@link #port()}) for one job.
         */
        public static Server start(String host, int port, String jobId, String token) {
            Objects.requireNonNull(jobId, "jobId");
            Objects.requireNonNull(token, "token");
            try {
                ServerSocket ss = new ServerSocket();
                try {
                    ss.bind(new InetSocketAddress(host == null ? "127.0.0.1" : host, port), 128);
                } catch (IOException e) {
                    ss.close();
                    throw e;
                }
                Server server = new Server(ss, jobId, token);
                server.acceptor.start();
                return server;
            } catch (IOException e) {
                throw new CollectiveException("rendezvous server: cannot bind " + host + ":" + port + ": " + e, e);
            }
        }

        /** The bound port (useful when started with port 0). */
        public int port() {
            return socket.getLocalPort();
        }

        /** "host:port" to give to clients. */
        public String address() {
            InetAddress a = socket.getInetAddress();
            return a.getHostAddress() + ":" + port();
        }

        private void acceptLoop() {
            while (!closed) {
                try {
                    Socket s = socket.accept();
                    Thread t = new Thread(() -> serve(s), "plsc4j-rendezvous-conn-" + CONNECTIONS.incrementAndGet());
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    if (!closed) {
                        LOG.warn("rendezvous server on port {}: accept failed: {}", port(), e.toString());
                    }
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                s.setSoTimeout(10_000); // for reading the request only
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                String reply;
                List<String> addresses = null;
                int magic = in.readInt();
                int version = in.readInt();
                if (magic != MAGIC || version != VERSION) {
                    LOG.warn("rendezvous server: refused {}: not a plsc4j rendezvous request", s.getRemoteSocketAddress());
                    reply = "not a plsc4j rendezvous request";
                } else {
                    String job = in.readUTF();
                    String token = in.readUTF();
                    int rank = in.readInt();
                    int worldSize = in.readInt();
                    String address = in.readUTF();
                    long timeoutMillis = in.readLong();
                    boolean tokenOk = MessageDigest.isEqual(tokenDigest, sha256(token.getBytes(StandardCharsets.UTF_8)));
                    if (!job.equals(jobId) || !tokenOk) {
                        LOG.warn("rendezvous server: refused {} claiming rank {} of job '{}': wrong {}",
                                s.getRemoteSocketAddress(), rank, printable(job), job.equals(jobId) ? "token" : "job id");
                        reply = "rank " + rank + " refused: wrong job id or token";
                    } else if (worldSize < 1 || rank < 0 || rank >= worldSize) {
                        reply = "rank " + rank + " / world_size " + worldSize + " (expected: 0 <= rank < world_size)";
                    } else {
                        Verdict v = arrive(rank, worldSize, address, Math.max(1, timeoutMillis));
                        addresses = v.addresses();
                        reply = v.error();
                    }
                }
                if (addresses != null) {
                    out.writeByte(OK);
                    out.writeInt(addresses.size());
                    for (String a : addresses) {
                        out.writeUTF(a);
                    }
                } else {
                    out.writeByte(ERROR);
                    out.writeUTF(reply);
                }
                out.flush();
            } catch (EOFException | SocketTimeoutException e) {
                LOG.warn("rendezvous server: incomplete request from {}", s.getRemoteSocketAddress());
            } catch (IOException e) {
                LOG.debug("rendezvous server: connection from {} failed: {}", s.getRemoteSocketAddress(), e.toString());
            }
        }

        /** The answer for one rank: the address list, or an error message. */
        private record Verdict(List<String> addresses, String error) {
            static Verdict error(String message) {
                return new Verdict(null, message);
            }
        }

        /** Registers a rank and waits until its round is complete or its timeout expires. */
        private Verdict arrive(int rank, int worldSize, String address, long timeoutMillis) {
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            synchronized (lock) {
                if (round == null) {
                    round = new Round(worldSize);
                }
                Round rd = round;
                if (rd.worldSize != worldSize) {
                    return Verdict.error("rank " + rank + " asked for world_size " + worldSize
                            + " but the ranks already waiting (" + arrivedRanks(rd) + ") asked for " + rd.worldSize);
                }
                if (rd.addresses[rank] != null) {
                    return Verdict.error("rank " + rank + " is already registered (address " + rd.addresses[rank] + ")");
                }
                rd.addresses[rank] = address;
                rd.gaveUp.remove(rank);
                rd.arrived++;
                if (rd.arrived == rd.worldSize) {
                    rd.result = List.of(rd.addresses.clone());
                    round = null;
                    lock.notifyAll();
                    return new Verdict(rd.result, null);
                }
                while (rd.result == null && !closed) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        String message = "rank " + rank + " timed out after " + Duration.ofMillis(timeoutMillis)
                                + " waiting for rank(s) " + rd.neverArrived()
                                + (rd.gaveUp.isEmpty() ? "" : "; rank(s) " + rd.gaveUp + " arrived but gave up earlier");
                        // leave the round: it must not complete with an address nobody listens on
                        rd.addresses[rank] = null;
                        rd.gaveUp.add(rank);
                        rd.arrived--;
                        if (rd.arrived == 0 && round == rd) {
                            round = null;
                        }
                        return Verdict.error(message);
                    }
                    try {
                        lock.wait(Math.max(1, left / 1_000_000));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return Verdict.error("rendezvous server interrupted");
                    }
                }
                return rd.result != null ? new Verdict(rd.result, null) : Verdict.error("rendezvous server closed");
            }
        }

        private static List<Integer> arrivedRanks(Round rd) {
            List<Integer> out = new ArrayList<>();
            for (int r = 0; r < rd.worldSize; r++) {
                if (rd.addresses[r] != null) {
                    out.add(r);
                }
            }
            return out;
        }

        /** Stops accepting; ranks still waiting get an error. Idempotent. */
        @Override
        public void close() {
            closed = true;
            synchronized (lock) {
                lock.notifyAll();
            }
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 64; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
