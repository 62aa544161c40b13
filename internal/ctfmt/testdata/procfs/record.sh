#!/bin/sh
# Records what Linux itself prints for a few connections, as the reference
# of internal/ctfmt's procfs and statistics formats (proc_test.go):
#
#   nf_conntrack.<run>.txt       cat /proc/net/nf_conntrack
#   conntrack-L.<run>.txt        conntrack -L -o extended, right after it
#   stat_nf_conntrack.<run>.txt  cat /proc/net/stat/nf_conntrack
#   conntrack-S.<run>.txt        conntrack -S
#   conntrack-C.<run>.txt        conntrack -C
#
# for two runs: "acct" (nf_conntrack_acct=1, nf_conntrack_timestamp=1) and
# "plain" (both 0). Each run makes, in a namespace "hsa" talking to "hsb"
# over a veth pair: ping and ping -6, two TCP connections to a listener
# (ct mark 42), UDP over IPv4 and IPv6 with replies (ct mark 7), UDP to a
# closed port, UDP in conntrack zone 5, a GRE packet, an SCTP INIT and a
# packet of protocol 99. Run as root: sh record.sh (needs nft, conntrack,
# python3). Recorded on Linux 6.18 with conntrack-tools 1.4.7.
set -eu
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
cleanup() { ip netns del hsa 2>/dev/null || true; ip netns del hsb 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

cat > "$tmp/srv.py" <<'PY'
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8080)); s.listen(5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 9999))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); u6.bind(("::", 9999))
c, _ = s.accept(); c.send(b"hi" * 10)
d, a = u.recvfrom(100); u.sendto(d, a)
d, a = u6.recvfrom(100); u6.sendto(d, a)
c2, _ = s.accept()
time.sleep(20)
PY
cat > "$tmp/cli.py" <<'PY'
import socket, struct, time
c = socket.create_connection(("10.77.0.2", 8080)); c.recv(100)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x" * 10, ("10.77.0.2", 9999)); u.recvfrom(100)
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.sendto(b"y" * 10, ("fd77::2", 9999)); u6.recvfrom(100)
u.sendto(b"z", ("10.77.0.2", 7777))
u.sendto(b"q", ("10.77.0.2", 12345))
c.close()
c2 = socket.create_connection(("10.77.0.2", 8080))
gre = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47); gre.sendto(b"\x00\x00\x08\x00" + b"\x45" + b"\x00" * 19, ("10.77.0.2", 0))
sctp = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
sctp.sendto(struct.pack("!HHII", 5000, 6000, 0, 0) + struct.pack("!BBHIIHHI", 1, 0, 20, 0x11223344, 65535, 1, 1, 1), ("10.77.0.2", 0))
p99 = socket.socket(socket.AF_INET, socket.SOCK_RAW, 99); p99.sendto(b"\x00" * 12, ("10.77.0.2", 0))
time.sleep(0.2)
PY

run() { # name acct timestamp
	ip netns del hsa 2>/dev/null || true; ip netns del hsb 2>/dev/null || true
	ip netns add hsa; ip netns add hsb
	ip link add hsva netns hsa type veth peer name hsvb netns hsb
	ip -n hsa addr add 10.77.0.1/24 dev hsva; ip -n hsb addr add 10.77.0.2/24 dev hsvb
	ip -n hsa addr add fd77::1/64 dev hsva nodad; ip -n hsb addr add fd77::2/64 dev hsvb nodad
	for n in hsa hsb; do ip -n $n link set lo up; done
	ip -n hsa link set hsva up; ip -n hsb link set hsvb up
	# The SCTP INIT carries no valid CRC32c: checksum=0 lets conntrack track it.
	ip netns exec hsa sysctl -qw net.netfilter.nf_conntrack_acct="$2" \
		net.netfilter.nf_conntrack_timestamp="$3" net.netfilter.nf_conntrack_checksum=0
	ip netns exec hsa nft -f - <<'NFT'
table inet t {
	chain pre { type filter hook prerouting priority -300; udp sport 7777 ct zone set 5; }
	chain raw { type filter hook output priority -300; udp dport 7777 ct zone set 5; }
	chain out { type filter hook output priority 0; ct state new tcp dport 8080 ct mark set 42; ct state new udp dport 9999 ct mark set 7; }
}
NFT
	ip netns exec hsb python3 "$tmp/srv.py" &
	sleep 1.5
	ip netns exec hsa ping -q -c 2 -i 0.2 10.77.0.2 >/dev/null
	ip netns exec hsa ping -q -6 -c 1 fd77::2 >/dev/null
	ip netns exec hsa python3 "$tmp/cli.py"
	# Entries of 30 s timeouts: list at once, both views in the same second.
	ip netns exec hsa cat /proc/net/nf_conntrack > "$out/nf_conntrack.$1.txt"
	ip netns exec hsa conntrack -L -o extended > "$out/conntrack-L.$1.txt" 2>/dev/null
	ip netns exec hsa cat /proc/net/stat/nf_conntrack > "$out/stat_nf_conntrack.$1.txt"
	ip netns exec hsa conntrack -S > "$out/conntrack-S.$1.txt"
	ip netns exec hsa conntrack -C > "$out/conntrack-C.$1.txt"
	ip netns pids hsb | xargs -r kill
}
run acct 1 1
run plain 0 0
