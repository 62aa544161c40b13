#!/usr/bin/env bash
# rules-oracle.sh: the kernel's verdicts and rule counters for the rule
# engine's differential test (engine/oracle_test.go, TestKernelOracle).
#
#   sudo scripts/rules-oracle.sh [-j N] [RULESET...]            regenerate the references
#   sudo scripts/rules-oracle.sh --check [--ci] [-j N] [RULESET...]
#                                    replay into a temporary directory and compare
#                                    with the committed references
#
# What is replayed is listed in testdata/rules-oracle/MANIFEST: one line per
# ruleset, "RULESET PATTERN...". RULESET is NAME (testdata/rules-oracle/NAME.nft,
# written for these tests) or shared/PATH (../shared/testdata/rulesets/PATH.nft,
# a real-world ruleset, read in place: it is not ours to copy). Each PATTERN
# is a shell glob over capture names (file name without .pcap/.pcapng) of
# ../shared/testdata/pcaps and testdata/scenarios (with a "/": over
# pcaps/NAME and scenarios/NAME); "!GLOB" leaves matches out; "*" is every
# capture. RULESET defaults to every line of the MANIFEST.
#
# Each (ruleset, capture) goes through the shared kernel oracle
# (../shared/tools/kernel-oracle/oracle.sh -G -f RULESET CAPTURE) at top
# speed, with the capture's own oracle options: those its kernel reference
# was made with (../shared/testdata/kernel-reference/regenerate.sh for the
# shared captures, scripts/scenario-oracle.sh for the scenarios: checksum
# offload artefacts). -G (no per-packet ctnetlink GET) because only verdicts
# and counters are kept. The oracle's output (about 20 files) is cut down to
# what the test reads, one file testdata/rules-oracle/RULESET/CAPTURE.ref
# (CAPTURE = pcaps/NAME for ../shared/testdata/pcaps/NAME.pcap[ng],
# scenarios/NAME for testdata/scenarios/NAME.pcapng):
#
#   # kernel ... nftables ...; oracle.sh OPTIONS -f RULESET CAPTURE   (provenance; not compared)
#   sysctl KEY = VALUE          a conntrack setting that differs from testdata/rules-oracle/sysctl.txt
#   N[-M] VERDICT[@WHERE]       per record (a range of records with the same answer):
#                               accepted, held, dropped@WHERE, rejected@WHERE
#                               (WHERE: prerouting, routing, input), unseen (never
#                               reached netfilter: rx 0) or skipped (not replayed)
#   emit N SUMMARY              what the kernel sent for a rejected record N, in
#                               the oracle's summary form (replay.py summarize)
#   log N PREFIX                the prefix of a `log group N` message of the ruleset
#                               for record N (packets.jsonl ruleset_log)
#   objects JSON                the named counters and quotas, as nft -j lists them
#   counter FAMILY TABLE CHAIN HANDLE PACKETS BYTES
#                               every counter of the ruleset's rules (nft -j list
#                               ruleset, the oracle's own tables left out), in order
#
# sysctl.txt (the namespace's conntrack settings on this kernel, host-wide
# sizes left out) is rewritten by every regeneration; a run whose settings
# differ (a -s option) lists its differences in its .ref.
#
# --check compares everything but the provenance line; a different kernel
# version is printed with any difference found. --ci checks only the pairs
# named in the CI list below (one line per ruleset, a few captures each).
#
# CI (scripts/test.sh) runs --check --ci, not the whole check: an oracle
# run takes about 0.85 s here (0.4 s with 4 in parallel on an idle
# machine), and the MANIFEST has about 1,300 pairs (about 9 minutes idle,
# far more on a loaded machine). The CI list, about 180 pairs covering
# every ruleset with the captures where the rulesets' answers differ most,
# takes about 75 s with -j 4 on an idle 2-core machine. The complete check
# is for a new kernel, a changed oracle or a changed MANIFEST: run it
# before committing references.
#
# Without root or the oracle's tools it prints "skipped: ..." and exits 0.
# Exit status: 0 done (or skipped), 1 an oracle run failed or --check found
# a difference, 2 usage.
#
# Environment: ORACLE (default: ../shared/tools/kernel-oracle/oracle.sh
# beside the repository), JOBS (runs in parallel; default 4, or -j N).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
refs=$root/testdata/rules-oracle
shared=$(dirname "$root")/shared
ORACLE=${ORACLE:-$shared/tools/kernel-oracle/oracle.sh}
JOBS=${JOBS:-4}

# CI: the captures --ci checks for every ruleset of the MANIFEST that has a
# reference for them (TCP state, fragments both families, ICMP/ICMPv6
# errors, ND/MLD, routing headers, a mixed real capture, the reject
# scenarios).
CI=(tcp_fin-close_each-side tcp_handshake-reordered-synack-first ipv4_frag_orders ipv6_frag_orders
	icmp_errors_related-and-spoofed icmpv6_errors_related-and-spoofed icmpv6_nd-ns-na-ra-mldv2
	ipv6_routing-type0_icmp6-and-udp mixed_wikipedia_http-dns-mdns_ipv4-ipv6 sctp_association_setup-shutdown)

usage() {
	echo "usage: $0 [--check [--ci]] [-j N] [RULESET...]" >&2
	exit 2
}
check=0 ci=0
args=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--check) check=1 ;;
	--ci) ci=1 ;;
	-j)
		[[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage
		JOBS=$2
		shift
		;;
	-*) usage ;;
	*) args+=("$1") ;;
	esac
	shift
done
[[ $ci == 0 || $check == 1 ]] || usage

skip() {
	echo "rules-oracle: skipped: $*"
	exit 0
}
[[ $(id -u) == 0 ]] || skip "not root (the kernel oracle needs root for its network namespace)"
missing=()
for t in conntrack nft ip python3; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[[ -x $ORACLE ]] || missing+=("$ORACLE")
[[ -c /dev/net/tun ]] || missing+=("/dev/net/tun")
[[ -d $shared/testdata/pcaps ]] || missing+=("$shared/testdata/pcaps")
[[ ${#missing[@]} == 0 ]] || skip "oracle tools missing: ${missing[*]}"

# --- captures and their oracle options -----------------------------------------

# A capture is named by its directory and file name without .pcap/.pcapng:
# pcaps/NAME (the shared corpus) or scenarios/NAME (the generated
# scenarios); a name can be in both.
declare -A CAP OPTS
for f in "$shared"/testdata/pcaps/*.pcap "$shared"/testdata/pcaps/*.pcapng "$root"/testdata/scenarios/*.pcapng; do
	b=$(basename "$f")
	b=${b%.pcapng}
	b=${b%.pcap}
	CAP[$(basename "$(dirname "$f")")/$b]=$f
done
# The per-capture options of the scripts that made the captures' own
# kernel references, read from their OPTIONS tables ([name]="options").
options_of() { # FILE: prints "name<TAB>options" lines
	sed -nE 's/^[[:space:]]*\[([^]]+)\]="(.*)"[[:space:]]*$/\1\t\2/p' "$1" |
		sed 's/\$CSUM0/-s net.netfilter.nf_conntrack_checksum=0/g'
}
while IFS=$'\t' read -r n o; do
	OPTS[pcaps/$n]=$o
done < <(options_of "$shared/testdata/kernel-reference/regenerate.sh")
while IFS=$'\t' read -r n o; do
	OPTS[scenarios/$n]=$o
done < <(options_of "$root/scripts/scenario-oracle.sh")
for n in "${!OPTS[@]}"; do
	[[ -n ${CAP[$n]:-} ]] || {
		echo "rules-oracle: options for an unknown capture $n" >&2
		exit 1
	}
done
mapfile -t ALLCAPS < <(printf '%s\n' "${!CAP[@]}" | sort)

# --- the MANIFEST ----------------------------------------------------------------

declare -A PATTERNS
order=()
while read -r rs pats; do
	[[ -z $rs || $rs == \#* ]] && continue
	PATTERNS[$rs]=$pats
	order+=("$rs")
done <"$refs/MANIFEST"
if [[ ${#args[@]} -gt 0 ]]; then
	for a in "${args[@]}"; do
		[[ -n ${PATTERNS[$a]:-} ]] || {
			echo "rules-oracle: $a is not in $refs/MANIFEST" >&2
			exit 1
		}
	done
	order=("${args[@]}")
fi

rsfile() { # RULESET: its .nft file
	case $1 in
	shared/*) echo "$shared/testdata/rulesets/${1#shared/}.nft" ;;
	*) echo "$refs/$1.nft" ;;
	esac
}

captures_of() { # RULESET: the captures its patterns select, one per line
	local c p keep
	read -r -a pats <<<"${PATTERNS[$1]}"
	for c in "${ALLCAPS[@]}"; do
		keep=0
		for p in "${pats[@]}"; do
			# a pattern with a / matches the whole name, one without
			# the name in its directory
			local name=$c q=${p#!}
			[[ $q == */* ]] || name=${c#*/}
			# shellcheck disable=SC2053
			if [[ $name == $q ]]; then
				if [[ $p == !* ]]; then keep=0; else keep=1; fi
			fi
		done
		[[ $keep == 1 ]] || continue
		if [[ $ci == 1 ]]; then
			local w found=0
			for w in "${CI[@]}"; do [[ $w == "${c#*/}" ]] && found=1; done
			[[ $found == 1 ]] || continue
		fi
		echo "$c"
	done
}

work=$(mktemp -d /tmp/rules-oracle.XXXXXX)
trap 'rm -rf "$work"' EXIT

# trim.py OUTDIR RULESET-NAME CAPTURE OPTIONS: the .ref of one oracle run on
# stdout. BASELINE (sysctl.txt) names the settings not to repeat.
cat >"$work/trim.py" <<'EOF'
import json, os, sys

out, rsname, cap, opts, baseline = sys.argv[1:6]
HOSTWIDE = {"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets",
            "net.netfilter.nf_conntrack_expect_max", "net.netfilter.nf_conntrack_count"}


def settings(path):
    """The conntrack settings of a sysctl.txt, host-wide sizes left out."""
    s = {}
    with open(path) as f:
        for l in f:
            k, sep, v = l.rstrip("\n").partition(" = ")
            if sep and (k.startswith("net.netfilter.nf_conntrack_") or k in (
                    "net.ipv4.ipfrag_time", "net.ipv6.ip6frag_time")) and k not in HOSTWIDE:
                s[k] = v
    return s


with open(os.path.join(out, "sysctl.txt")) as f:
    head = f.readline()
kernel = head.split("kernel: ")[1].split()[0] if "kernel: " in head else "?"
nftv = head.split("nftables ")[1].split()[0] if "nftables " in head else "?"
lines = ["# kernel %s, nftables %s; oracle.sh -G %s-f %s %s" % (
    kernel, nftv, opts + " " if opts else "", rsname, cap)]
mine, base = settings(os.path.join(out, "sysctl.txt")), {}
if os.path.exists(baseline):
    base = settings(baseline)
for k in sorted(mine):
    if base.get(k) != mine[k]:
        lines.append("sysctl %s = %s" % (k, mine[k]))
for k in sorted(base):
    if k not in mine:
        lines.append("sysctl %s = ?" % k)

recs, emits = [], []
with open(os.path.join(out, "packets.jsonl")) as f:
    for l in f:
        r = json.loads(l)
        if r.get("skipped"):
            v = "skipped"
        elif not r.get("rx"):
            v = "unseen"
        else:
            v = r["verdict"]
            if r.get("dropped_at") and v in ("dropped", "rejected"):
                v += "@" + r["dropped_at"]
        recs.append((r["n"], v))
        for e in r.get("emitted") or []:
            emits.append("emit %d %s" % (r["n"], e))
        for e in r.get("ruleset_log") or []:
            emits.append("log %d %s" % (r["n"], e))
i = 0
while i < len(recs):
    j = i
    while j + 1 < len(recs) and recs[j + 1][1] == recs[i][1] and recs[j + 1][0] == recs[j][0] + 1:
        j += 1
    a, b = recs[i][0], recs[j][0]
    lines.append("%s %s" % (a if a == b else "%d-%d" % (a, b), recs[i][1]))
    i = j + 1
lines += emits

with open(os.path.join(out, "nft-counters.json")) as f:
    doc = json.load(f)
for it in doc.get("nftables", []):
    r = it.get("rule")
    if not r or r["table"].startswith("oracle"):
        continue
    for e in r.get("expr", []):
        c = e.get("counter")
        if isinstance(c, dict):
            lines.append("counter %s %s %s %d %d %d" % (r["family"], r["table"], r["chain"], r["handle"],
                                                        c["packets"], c["bytes"]))
objs = [it for it in doc.get("nftables", []) for k in ("counter", "quota")
        if k in it and not it[k]["table"].startswith("oracle")]
if objs:
    lines.append("objects " + json.dumps({"nftables": objs}, separators=(",", ":")))
print("\n".join(lines))
EOF

# baseline.py SYSCTL: the baseline sysctl.txt (conntrack settings only).
cat >"$work/baseline.py" <<'EOF'
import sys
HOSTWIDE = ("net.netfilter.nf_conntrack_max ", "net.netfilter.nf_conntrack_buckets ",
            "net.netfilter.nf_conntrack_expect_max ", "net.netfilter.nf_conntrack_count ")
head = open(sys.argv[1]).readline()
print("# the kernel oracle's conntrack settings (" + head[2:].split("   ")[0] +
      "), host-wide sizes left out: what every .ref here was made with, unless it says otherwise")
for l in open(sys.argv[1]):
    if (l.startswith("net.netfilter.nf_conntrack_") or l.startswith(("net.ipv4.ipfrag_time ", "net.ipv6.ip6frag_time "))) \
            and not l.startswith(HOSTWIDE):
        print(l.rstrip("\n"))
EOF

# --- runs --------------------------------------------------------------------------

# run RULESET CAPTURE: one oracle run, its .ref in $work/ref/RULESET/CAPTURE.ref,
# or $work/fail/... with the oracle's output.
run() {
	local rs=$1 c=$2 id
	id=${rs//\//__}.${c//\//__}
	local opts=${OPTS[$c]:-}
	local -a o
	read -r -a o <<<"$opts"
	mkdir -p "$work/ref/$rs/${c%/*}"
	if ! "$ORACLE" -G "${o[@]+"${o[@]}"}" -f "$(rsfile "$rs")" "${CAP[$c]}" "$work/out/$id" >"$work/log/$id" 2>&1; then
		echo "FAIL  $rs $c: oracle.sh exit $?" >"$work/fail/$id"
		tail -20 "$work/log/$id" >>"$work/fail/$id"
		return
	fi
	if ! python3 "$work/trim.py" "$work/out/$id" "$rs" "$(basename "${CAP[$c]}")" "$opts" "$refs/sysctl.txt" \
		>"$work/ref/$rs/$c.ref" 2>"$work/log/$id.trim"; then
		echo "FAIL  $rs $c: could not read the oracle's output" >"$work/fail/$id"
		cat "$work/log/$id.trim" >>"$work/fail/$id"
	fi
	rm -rf "$work/out/$id"
}

mkdir -p "$work/out" "$work/log" "$work/fail" "$work/ref"
rc=0
start=$SECONDS
pairs=0
# A regeneration first writes the baseline (from one run with no options),
# so that every .ref lists its differences from the new one.
if [[ $check == 0 ]]; then
	first=${order[0]}
	mapfile -t cs < <(captures_of "$first")
	for c in "${cs[@]}"; do
		[[ -z ${OPTS[$c]:-} ]] || continue
		if "$ORACLE" -G -f "$(rsfile "$first")" "${CAP[$c]}" "$work/base" >"$work/log/base" 2>&1; then
			python3 "$work/baseline.py" "$work/base/sysctl.txt" >"$refs/sysctl.txt"
		else
			echo "rules-oracle: the oracle failed on $first $c:" >&2
			tail -20 "$work/log/base" >&2
			exit 1
		fi
		break
	done
fi
for rs in "${order[@]}"; do
	f=$(rsfile "$rs")
	[[ -f $f ]] || {
		echo "rules-oracle: no ruleset $f" >&2
		rc=1
		continue
	}
	mapfile -t cs < <(captures_of "$rs")
	for c in "${cs[@]}"; do
		if [[ $check == 1 && ! -f $refs/$rs/$c.ref ]]; then
			[[ $ci == 1 ]] && continue
			echo "FAIL  $rs $c: no committed reference (run $0 $rs as root and commit it)"
			rc=1
			continue
		fi
		while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do wait -n || true; done
		run "$rs" "$c" &
		pairs=$((pairs + 1))
	done
done
wait

for f in "$work"/fail/*; do
	[[ -e $f ]] || continue
	cat "$f" >&2
	rc=1
done

if [[ $check == 1 ]]; then
	differ=0
	while IFS= read -r -d '' got; do
		rel=${got#"$work/ref/"}
		want=$refs/$rel
		if ! diff -q <(grep -v '^#' "$want") <(grep -v '^#' "$got") >/dev/null; then
			echo "DIFF  ${rel%.ref}: the kernel's answer differs from testdata/rules-oracle/$rel"
			diff <(grep -v '^#' "$want") <(grep -v '^#' "$got") | head -20 | sed 's/^/  /'
			w=$(head -1 "$want") g=$(head -1 "$got")
			[[ ${w%%;*} == "${g%%;*}" ]] || echo "  note: reference: ${w%%;*} | this run: ${g%%;*}"
			differ=$((differ + 1))
			rc=1
		fi
	done < <(find "$work/ref" -name '*.ref' -print0 | sort -z)
	echo "rules-oracle: $pairs pairs checked ($differ differ) in $((SECONDS - start))s on $(uname -r)$([[ $rc != 0 ]] && echo ', with failures')"
else
	for rs in "${order[@]}"; do
		[[ -d $work/ref/$rs ]] || continue
		if compgen -G "$work/fail/${rs//\//__}.*" >/dev/null; then
			echo "rules-oracle: $rs: not written (an oracle run failed)" >&2
			continue
		fi
		mkdir -p "$refs/$rs"
		# a regeneration replaces the ruleset's references: a capture the
		# MANIFEST no longer selects loses its .ref (and so does the old
		# directory-per-capture form of the references)
		rm -rf "${refs:?}/$rs"/*/
		cp -r "$work/ref/$rs"/* "$refs/$rs/"
		echo "wrote $rs/ ($(find "$refs/$rs" -name '*.ref' | wc -l) captures)"
	done
	echo "rules-oracle: $pairs pairs regenerated in $((SECONDS - start))s on $(uname -r)$([[ $rc != 0 ]] && echo ', with failures')"
fi
exit $rc
