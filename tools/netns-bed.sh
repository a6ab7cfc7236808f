#!/usr/bin/env bash
# The multi-host test bed by hand (what MultiHostBedTest's NetnsBed does): one Linux network
# namespace per host, each with its own address on a private bridge that lives in a "switch"
# namespace, so nothing touches this machine's own network. Needs root and iproute2.
#
#   tools/netns-bed.sh up [WORKERS]     # hosts zk1 zk2 zk3 c1 c2 w1..wN (default 3) on 10.213.250.0/24;
#                                       # writes $BED_DIR/zk{1,2,3}.cfg and prints the commands to run
#   tools/netns-bed.sh exec HOST CMD..  # run CMD inside HOST's namespace
#   tools/netns-bed.sh isolate|heal HOST   # cut HOST off the bridge / put it back (a network partition)
#   tools/netns-bed.sh down             # kill what runs in the bed's namespaces and delete them
set -euo pipefail

PREFIX=p4jbed
NET=10.213.250
BED_DIR="${BED_DIR:-/tmp/p4jbed}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() { echo "netns-bed: $*" >&2; exit 1; }
[[ "$(id -u)" == 0 ]] || die "needs root (ip netns add)"
command -v ip >/dev/null || die "needs iproute2's ip"

port_of() { awk -v h="$1" '$1 == h {print "v" $2}' "$BED_DIR/hosts" 2>/dev/null; }

add_host() { # name n
    local ns="$PREFIX-$1" port="v$2"
    ip netns add "$ns"
    ip -n "$PREFIX-sw" link add "$port" type veth peer name eth0 netns "$ns"
    ip -n "$PREFIX-sw" link set "$port" master br0 up
    ip -n "$ns" addr add "$NET.$2/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    echo "$1 $2" >> "$BED_DIR/hosts"
    printf '%-4s %s\n' "$1" "$NET.$2"
}

case "${1:-}" in
up)
    workers="${2:-3}"
    ip netns list | grep -q "^$PREFIX-sw" && die "a bed is up already (tools/netns-bed.sh down first)"
    mkdir -p "$BED_DIR"
    : > "$BED_DIR/hosts"
    ip netns add "$PREFIX-sw"
    ip -n "$PREFIX-sw" link add br0 type bridge
    ip -n "$PREFIX-sw" link set br0 up
    n=1
    for h in zk1 zk2 zk3 c1 c2 $(seq -f 'w%g' 1 "$workers"); do
        add_host "$h" "$n"
        n=$((n + 1))
    done
    mkdir -p "$BED_DIR"
    for i in 1 2 3; do
        mkdir -p "$BED_DIR/zk$i"
        echo "$i" > "$BED_DIR/zk$i/myid"
        cat > "$BED_DIR/zk$i.cfg" <<EOF
tickTime=500
initLimit=20
syncLimit=10
dataDir=$BED_DIR/zk$i
clientPort=2181
clientPortAddress=$NET.$i
admin.enableServer=false
4lw.commands.whitelist=srvr
server.1=$NET.1:2888:3888
server.2=$NET.2:2888:3888
server.3=$NET.3:2888:3888
EOF
    done
    ZK="$NET.1:2181,$NET.2:2181,$NET.3:2181"
    cat <<EOF

# the bed is up; run each line in its own terminal (./plsc4j builds the CLI on first use).
# job.yaml as MultiHostBedTest runs it (no shared disk): shared_save_dir: false,
# fs_dir_for_save: $BED_DIR/commit, shard_store: ignite; the test also gives every worker host its
# own model_save_dir (a bind mount inside its 'ip netns exec'), which this script does not.
for i in 1 2 3; do $0 exec zk\$i java -Xmx96m -cp "$ROOT/cli/target/lib/*" \\
    org.apache.zookeeper.server.quorum.QuorumPeerMain $BED_DIR/zk\$i.cfg > $BED_DIR/zk\$i.log 2>&1 & done
$0 exec c1 $ROOT/plsc4j coordinator --job faces --zk $ZK --config job.yaml --min-workers 2 --max-workers $workers --settle-ms 1000 --token-file $BED_DIR/faces.token
$0 exec c2 $ROOT/plsc4j coordinator --job faces --zk $ZK --config job.yaml --min-workers 2 --max-workers $workers --settle-ms 1000 --token-file $BED_DIR/faces.token   # standby
EOF
    for w in $(seq 1 "$workers"); do
        echo "$0 exec w$w $ROOT/plsc4j worker --job faces --zk $ZK --host $NET.$((5 + w)) --token-file $BED_DIR/faces.token --session-timeout-ms 4000 --metrics-port -1"
    done
    ;;
exec)
    h="${2:?host}"; shift 2
    exec ip netns exec "$PREFIX-$h" "$@"
    ;;
isolate|heal)
    port="$(port_of "${2:?host}")"
    [[ -n "$port" ]] || die "no host ${2}"
    ip -n "$PREFIX-sw" link set "$port" "$([[ $1 == isolate ]] && echo down || echo up)"
    ;;
down)
    for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true); do
        for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns"
    done
    ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
