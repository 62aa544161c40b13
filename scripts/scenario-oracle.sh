#!/usr/bin/env bash
# scenario-oracle.sh: what the running Linux kernel's conntrack makes of the
# generated scenarios (testdata/scenarios/*.pcapng, written by
# internal/scenario: go test ./internal/scenario -update).
#
#   sudo scripts/scenario-oracle.sh [NAME...]          regenerate testdata/scenarios/NAME/
#   sudo scripts/scenario-oracle.sh --check [NAME...]  replay into a temporary directory and
#                                                      compare with the committed references
#
# NAME defaults to every scenario. Each capture goes through the shared
# kernel oracle (../shared/tools/kernel-oracle/oracle.sh) at top speed with
# its default settings (no -r, -G, -f, -T or -C: every checksum in the
# scenarios is right; -s only where OPTIONS below says), and NAME/ keeps exactly the files the shared
# kernel-reference keeps (../shared/testdata/kernel-reference/README.md):
# packets.jsonl packets.txt events.jsonl table.jsonl conntrack-ipv4.txt
# conntrack-ipv6.txt summary.txt sysctl.txt. The oracle is run from
# testdata/scenarios with the bare file name, so the capture is named the
# same in every run and on every machine.
#
# --check compares everything except what varies between runs (the
# kernel-reference README, "What varies between runs"): entry ids (joined
# by order of first appearance instead), wall-clock times (t_write_ns,
# start_ns, stop_ns, t_ns, delta-time=, [start=...]), use counts, timeouts
# within 1 s, the order of the final table's entries (a dump follows the
# hash table, whose seed changes at boot), the kernel and tool versions, the
# host-wide table size (nf_conntrack_max, _buckets, _expect_max), and the
# summary's counts of packets the namespace's own stack sent (MLD reports
# run on timers: the oracle's README calls them an artefact of its setup).
# A different kernel version is printed with any difference found.
#
# Without root or the oracle's tools it prints "skipped: ..." and exits 0.
# Exit status: 0 done (or skipped), 1 an oracle run failed or --check found
# a difference, 2 usage.
#
# Environment: ORACLE (default: ../shared/tools/kernel-oracle/oracle.sh
# beside the repository).
#
# Time: the oracle takes about a second per scenario here, so --check on all
# of them takes well under a minute; CI (scripts/test.sh) runs all of them.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
scen=$root/testdata/scenarios
ORACLE=${ORACLE:-$(dirname "$root")/shared/tools/kernel-oracle/oracle.sh}
# Per-scenario oracle options, the Settings of internal/scenario's
# Scenario (its test holds sysctl.txt to them). Everything not listed: none.
declare -A OPTIONS=(
	# conntrack verifies UDP-Lite checksums with the UDP pseudo-header and
	# calls every RFC 3828 checksum bad (udplite_checksum_pseudo-header
	# shows it): without this, every UDP-Lite packet is INVALID
	[udplite_vs_udp]="-s net.netfilter.nf_conntrack_checksum=0"
)
KEEP=(packets.jsonl packets.txt events.jsonl table.jsonl conntrack-ipv4.txt conntrack-ipv6.txt
	summary.txt sysctl.txt)

check=0
if [[ ${1:-} == --check ]]; then
	check=1
	shift
fi
for a in "$@"; do
	if [[ $a == -* ]]; then
		echo "usage: $0 [--check] [NAME...]" >&2
		exit 2
	fi
done

skip() {
	echo "scenario-oracle: skipped: $*"
	exit 0
}
[[ $(id -u) == 0 ]] || skip "not root (the kernel oracle needs root for its network namespace)"
missing=()
for t in conntrack nft ip python3; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[[ -x $ORACLE ]] || missing+=("$ORACLE")
[[ -c /dev/net/tun ]] || missing+=("/dev/net/tun")
[[ ${#missing[@]} == 0 ]] || skip "oracle tools missing: ${missing[*]}"

names=("$@")
if [[ ${#names[@]} == 0 ]]; then
	for f in "$scen"/*.pcapng; do
		b=$(basename "$f")
		names+=("${b%.pcapng}")
	done
fi
[[ ${#names[@]} -gt 0 ]] || {
	echo "scenario-oracle: no captures in $scen (go test ./internal/scenario -update writes them)" >&2
	exit 1
}

work=$(mktemp -d /tmp/scenario-oracle.XXXXXX)
trap 'rm -rf "$work"' EXIT

# compare.py WANT GOT: prints the differences that matter, exits 1 if any.
cat >"$work/compare.py" <<'EOF'
import json, os, re, sys

want_dir, got_dir = sys.argv[1], sys.argv[2]
VOLATILE = {"t_write_ns", "start_ns", "stop_ns", "t_ns", "use"}
HOSTWIDE = ("net.netfilter.nf_conntrack_max ", "net.netfilter.nf_conntrack_buckets ",
            "net.netfilter.nf_conntrack_expect_max ")
diffs, notes = [], []


class Ids:
    """Maps ct ids to their order of first appearance: ids differ per run."""
    def __init__(self):
        self.m = {}

    def __call__(self, v):
        return self.m.setdefault(v, "#%d" % (len(self.m) + 1))


ids = {"want": Ids(), "got": Ids()}


def norm(v, side):
    if isinstance(v, dict):
        return {k: (ids[side](x) if k == "id" and isinstance(x, int) else norm(x, side))
                for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [norm(x, side) for x in v]
    return v


def same(a, b, key=None):
    if key == "timeout" and isinstance(a, int) and isinstance(b, int):
        return abs(a - b) <= 1
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], k) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def lines(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read().splitlines()


def report(name, i, w, g):
    diffs.append("%s:%s\n    want %s\n    got  %s" % (name, i, w, g))


def cmp_lists(name, w, g, key=lambda x: x):
    if len(w) != len(g):
        diffs.append("%s: %d lines, want %d" % (name, len(g), len(w)))
    for i, (a, b) in enumerate(zip(w, g), 1):
        if not same(key(a), key(b)):
            report(name, i, a, b)


def jsonl(name, sort=False):
    w = [norm(json.loads(l), "want") for l in lines(want_dir, name)]
    g = [norm(json.loads(l), "got") for l in lines(got_dir, name)]
    if sort:
        k = lambda e: json.dumps({x: y for x, y in e.items() if x not in ("timeout", "id")}, sort_keys=True)
        w, g = sorted(w, key=k), sorted(g, key=k)
    cmp_lists(name, w, g)


# Entry ids: after the ct state in packets.txt, at the end of a conntrack -L
# line (not the "id=" of ICMP identifiers and fragments).
TXT_ID = re.compile(r"((?:new|established|related)/(?:original|reply) id=)(\d+)")
LIST_ID = re.compile(r"( id=)(\d+)$")
TIMEOUT_RE = re.compile(r"\btimeout=(\d+)")


def map_ids(rx, l, side):
    return rx.sub(lambda m: m.group(1) + ids[side](int(m.group(2))), l)


def text_line(l, side):
    """A packets.txt line as (text without ids and timeouts, [timeouts])."""
    l = map_ids(TXT_ID, l, side)
    return (TIMEOUT_RE.sub("timeout=?", l), [int(x) for x in TIMEOUT_RE.findall(l)])


def text_same(a, b):
    return a[0] == b[0] and len(a[1]) == len(b[1]) and all(abs(x - y) <= 1 for x, y in zip(a[1], b[1]))


def packets_txt():
    w = [text_line(l, "want") for l in lines(want_dir, "packets.txt")]
    g = [text_line(l, "got") for l in lines(got_dir, "packets.txt")]
    if len(w) != len(g):
        diffs.append("packets.txt: %d lines, want %d" % (len(g), len(w)))
    for i, (a, b) in enumerate(zip(w, g), 1):
        if not text_same(a, b):
            report("packets.txt", i, a[0], b[0])


CT_DROP = re.compile(r"\s*(delta-time=\d+|\[start=[^\]]*\]|use=\d+)")


def ct_line(l, side):
    """A conntrack -L line: its timeout is the fifth field."""
    l = map_ids(LIST_ID, CT_DROP.sub("", l), side)
    f = l.split()
    t = [int(f[4])] if len(f) > 4 and f[4].isdigit() else []
    if t:
        f[4] = "?"
    return (" ".join(f), t)


def conntrack_txt(name):
    w = sorted((ct_line(l, "want") for l in lines(want_dir, name)), key=lambda x: x[0])
    g = sorted((ct_line(l, "got") for l in lines(got_dir, name)), key=lambda x: x[0])
    if len(w) != len(g):
        diffs.append("%s: %d entries, want %d" % (name, len(g), len(w)))
    for i, (a, b) in enumerate(zip(w, g), 1):
        if not text_same(a, b):
            report(name + " (sorted)", i, a[0], b[0])


# Lines about what the namespace's own stack sent (answers to delivered
# packets, MLD/IGMP reports on timers): an artefact of the oracle's setup
# that varies between runs, not conntrack's doing.
OWN_TRAFFIC = ("  other packets the namespace sent", "  out (sent by the namespace")


def summary_txt():
    keep = lambda ls: [l for l in ls if not l.startswith(OWN_TRAFFIC)]
    cmp_lists("summary.txt", keep(lines(want_dir, "summary.txt")), keep(lines(got_dir, "summary.txt")))


def sysctl_txt():
    w, g = lines(want_dir, "sysctl.txt"), lines(got_dir, "sysctl.txt")
    if w[:1] != g[:1]:
        notes.append("versions differ: references: %s | this run: %s" % (w[0][2:], g[0][2:]))
    keep = lambda ls: [l for l in ls[1:] if not l.startswith(HOSTWIDE)]
    cmp_lists("sysctl.txt", keep(w), keep(g))


# packets.jsonl first: it names every entry in order, so the id maps of
# both runs line up before the other files use them.
for step in (lambda: jsonl("packets.jsonl"), packets_txt, lambda: jsonl("events.jsonl"),
             lambda: jsonl("table.jsonl", sort=True), lambda: conntrack_txt("conntrack-ipv4.txt"),
             lambda: conntrack_txt("conntrack-ipv6.txt"), summary_txt, sysctl_txt):
    try:
        step()
    except (OSError, ValueError) as e:
        diffs.append(str(e))

if diffs:
    for d in diffs[:12]:
        print("  " + d)
    if len(diffs) > 12:
        print("  ... %d more" % (len(diffs) - 12))
    for n in notes:
        print("  note: " + n)
    sys.exit(1)
EOF

rc=0
start=$SECONDS
cd "$scen"
for n in "${names[@]}"; do
	if [[ ! -f $n.pcapng ]]; then
		echo "scenario-oracle: no capture $scen/$n.pcapng" >&2
		rc=1
		continue
	fi
	t0=$SECONDS
	set +e
	read -r -a opts <<<"${OPTIONS[$n]:-}"
	"$ORACLE" "${opts[@]+"${opts[@]}"}" "$n.pcapng" "$work/$n" >"$work/$n.log" 2>&1
	r=$?
	set -e
	if [[ $r != 0 ]]; then
		# 3: the oracle finished but lost some of the kernel's answers.
		echo "FAIL  $n: oracle.sh exit $r" >&2
		tail -20 "$work/$n.log" >&2
		rc=1
		continue
	fi
	# oracle.sh names the capture by its absolute path: name it relative
	# to the reference directory instead, as the shared references do, so
	# the files do not depend on where the repository is checked out.
	sed -i "s|$scen/$n.pcapng|../$n.pcapng|g" "$work/$n/summary.txt" "$work/$n/sysctl.txt"
	if [[ $check == 1 ]]; then
		if [[ ! -d $n ]]; then
			echo "FAIL  $n: no committed reference $scen/$n (run $0 $n as root and commit it)"
			rc=1
		elif out=$(python3 "$work/compare.py" "$n" "$work/$n"); then
			echo "ok    $n ($((SECONDS - t0))s)"
		else
			echo "DIFF  $n: the kernel's answer differs from testdata/scenarios/$n:"
			echo "$out"
			rc=1
		fi
	else
		rm -rf "${scen:?}/$n"
		mkdir -p "$n"
		for f in "${KEEP[@]}"; do
			cp "$work/$n/$f" "$n/$f"
		done
		invalid=$(sed -n 's/^INVALID (ct state invalid): //p' "$n/summary.txt")
		echo "wrote $n/ ($((SECONDS - t0))s, INVALID $invalid)"
	fi
done
for d in */; do
	d=${d%/}
	[[ -f $d.pcapng ]] || echo "scenario-oracle: warning: $scen/$d has no capture (a removed scenario?)" >&2
done
verb=regenerated
[[ $check == 1 ]] && verb=checked
echo "scenario-oracle: ${#names[@]} scenarios $verb in $((SECONDS - start))s on $(uname -r)$([[ $rc != 0 ]] && echo ', with failures')"
exit $rc
