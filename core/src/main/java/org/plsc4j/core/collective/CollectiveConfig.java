package org.plsc4j.core.collective;

import java.time.Duration;
import java.util.Objects;

/**
 * Everything needed to join one collective group.
 *
 * @param jobId identifies the job; members of another job are refused
 * @param token shared secret of the job; a peer presenting another token is refused
 * @param rank this member's rank in [0, worldSize)
 * @param worldSize number of members, at least 1
 * @param timeout how long any single wait (connect, receive, rendezvous) may take
 * @param bindHost the interface transports listen on (127.0.0.1 by default)
 * @param rendezvous how addresses are exchanged; ignored by in-process groups
 * @param advertiseHost the address peers are told to connect to, or null for the bound address
 *     (needed when {@code bindHost} is a wildcard such as 0.0.0.0, or behind a NAT)
 */
public record CollectiveConfig(String jobId, String token, int rank, int worldSize, Duration timeout,
                               String bindHost, Rendezvous rendezvous, String advertiseHost) {

    /** Peers connect to the bound address. */
    public CollectiveConfig(String jobId, String token, int rank, int worldSize, Duration timeout,
                            String bindHost, Rendezvous rendezvous) {
        this(jobId, token, rank, worldSize, timeout, bindHost, rendezvous, null);
    }

    /** Validates every field; messages name the field, the value and what was expected. */
    public CollectiveConfig {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(bindHost, "bindHost");
        if (advertiseHost != null && advertiseHost.isBlank()) {
            throw new IllegalArgumentException("advertiseHost : \"" + advertiseHost
                    + "\" (expected: an address or host name, or null for the bound address)");
        }
        if (jobId.isEmpty()) {
            throw new IllegalArgumentException("jobId : \"\" (expected: a non-empty job id)");
        }
        if (worldSize < 1) {
            throw new IllegalArgumentException("world_size : " + worldSize + " (expected: >= 1)");
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException(
                    "rank : " + rank + " (expected: 0 <= rank < world_size = " + worldSize + ")");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout : " + timeout + " (expected: > 0)");
        }
    }

    /** A builder with defaults: token "", timeout 60 s, bind host 127.0.0.1, no rendezvous. */
    public static Builder builder() {
        return new Builder();
    }

    /** A copy of this config for another rank (handy when one process hosts several ranks). */
    public CollectiveConfig withRank(int newRank) {
        return new CollectiveConfig(jobId, token, newRank, worldSize, timeout, bindHost, rendezvous, advertiseHost);
    }

    /** Builder for {@link CollectiveConfig}. */
    public static final class Builder {
        private String jobId = "plsc4j";
        private String token = "";
        private int rank;
        private int worldSize = 1;
        private Duration timeout = Duration.ofSeconds(60);
        private String bindHost = "127.0.0.1";
        private Rendezvous rendezvous;
        private String advertiseHost;

        private Builder() {
        }

        /** Sets the job id. */
        public Builder jobId(String v) {
            this.jobId = v;
            return this;
        }

        /** Sets the job token. */
        public Builder token(String v) {
            this.token = v;
            return this;
        }

        /** Sets the rank. */
        public Builder rank(int v) {
            this.rank = v;
            return this;
        }

        /** Sets the world size. */
        public Builder worldSize(int v) {
            this.worldSize = v;
            return this;
        }

        /** Sets the timeout of every wait. */
        public Builder timeout(Duration v) {
            this.timeout = v;
            return this;
        }

        /** Sets the host transports bind to. */
        public Builder bindHost(String v) {
            this.bindHost = v;
            return this;
        }

        /** Sets the address peers connect to (null: the bound address). */
        public Builder advertiseHost(String v) {
            this.advertiseHost = v;
            return this;
        }

        /** Sets the rendezvous. */
        public Builder rendezvous(Rendezvous v) {
            this.rendezvous = v;
            return this;
        }

        /** Builds and validates the config. */
        public CollectiveConfig build() {
            return new CollectiveConfig(jobId, token, rank, worldSize, timeout, bindHost, rendezvous, advertiseHost);
        }
    }
}
