#!/usr/bin/env bash
# bench-live.sh: throughput and latency through hare on a live topology,
# as ratios against the kernel's own nftables doing the same filtering.
# Not part of CI (it measures time, takes some 2 minutes and wants a quiet
# machine); its results go to BENCHMARKS.md with the machine's load.
#
#   sudo ./scripts/bench-live.sh            # 5 s per iperf3 run
#   sudo BENCH_SECONDS=10 ./scripts/bench-live.sh
#   sudo BENCH_FIREWALLS='kernel-routed|hare-nfqueue' ./scripts/bench-live.sh
#                                           # only these firewalls
#   sudo BENCH_FIREWALLS='kernel-bridge|hare-afpacket|hare-afpacket-v2' ./scripts/bench-live.sh
#                                           # the bridge, both receive rings
#
# For each firewall of integration/ (kernel-routed, kernel-bridge,
# hare-nfqueue, hare-afpacket with its default TPACKET_V3 ring,
# hare-afpacket-v2 with [datapath] ring = "v2"), IPv4 and IPv6, between the client and the
# server namespaces, through the same ruleset (integration/ruleset_test.go):
#   - iperf3 TCP stream (iperf3 -c SERVER -t N): receiver's bit rate
#   - iperf3 64-byte UDP flood (iperf3 -u -l 64 -b 0 -t N): datagrams per
#     second the server received, and the loss
#   - ping -c 100 -i 0.01: median and 99th percentile RTT
#   - hare: packets per second each worker decided during the UDP flood,
#     from its metrics endpoint, and the kernel's drops (queue or ring full)
# The hare daemon runs with one worker ([workers] count = 1, one queue).
# Prints a Markdown table with hare's ratio to the kernel on the same
# topology (nfqueue: routed; afpacket, both rings: bridge).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) != 0 ]]; then
	echo "bench-live.sh: needs root (network namespaces)" >&2
	exit 1
fi
for t in iperf3 ping curl nft; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "bench-live.sh: needs $t (apt-get install iperf3 iputils-ping curl nftables)" >&2
		exit 1
	fi
done
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$SECONDS
HARE_INTEGRATION=1 HARE_BENCH=1 BENCH_SECONDS=${BENCH_SECONDS:-5} \
	"$GO" test -count=1 -v -timeout 20m -run "^TestBenchLive\$/^(${BENCH_FIREWALLS:-.*})\$" ./integration/ |
	grep -vE '^(=== RUN|--- PASS|PASS$|ok )'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) ($((SECONDS - start)) s)"
