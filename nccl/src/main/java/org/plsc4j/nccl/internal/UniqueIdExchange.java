package org.plsc4j.nccl.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;

/**
 * Hands rank 0's NCCL unique id to every rank through the group's {@link org.plsc4j.core.collective.Rendezvous}
 * (the job's ZooKeeper rendezvous in a coordinated job), never through another channel.
 *
 * <p>Rank 0 publishes {@code nccl-id:<hex id>:<sha-256 of the token, hex>} as its "address", the others
 * {@code nccl-rank:<r>} (both have the host:port shape the ZooKeeper rendezvous checks). A rank whose
 * token hashes differently refuses to join. CUDA-free, so it is tested on any machine.
 */
public final class UniqueIdExchange {

    private static final String ID = "nccl-id";

    private UniqueIdExchange() {
    }

    /**
     * Exchanges: {@code rootId} is rank 0's id (ignored on other ranks); returns rank 0's id on every rank.
     *
     * @throws CollectiveException when rank 0 published no id or the tokens differ (naming the job)
     */
    public static byte[] exchange(CollectiveConfig config, byte[] rootId) {
        if (config.rendezvous() == null) {
            throw new CollectiveException("nccl : job " + config.jobId() + " has no rendezvous (expected: one to hand"
                    + " out rank 0's NCCL unique id)");
        }
        String mine = config.rank() == 0 ? ID + ":" + HexFormat.of().formatHex(rootId) + ":" + tokenHash(config.token())
                : "nccl-rank:" + config.rank();
        List<String> all = config.rendezvous().exchange(config.rank(), config.worldSize(), mine, config.timeout());
        String[] root = all.get(0).split(":");
        if (root.length != 3 || !root[0].equals(ID)) {
            throw new CollectiveException("nccl : rank 0 of job " + config.jobId() + " published " + all.get(0)
                    + " (expected: its NCCL unique id)");
        }
        if (!MessageDigest.isEqual(root[2].getBytes(StandardCharsets.US_ASCII),
                tokenHash(config.token()).getBytes(StandardCharsets.US_ASCII))) {
            throw new CollectiveException("nccl rank " + config.rank() + " : job token refused (rank 0 of job "
                    + config.jobId() + " has another token)");
        }
        return HexFormat.of().parseHex(root[1]);
    }

    private static String tokenHash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
