#!/usr/bin/env bash
# nft-json-refs.sh: what the real nft prints with -j for the shared rulesets.
#
#   sudo scripts/nft-json-refs.sh [--check]
#
# For every input of the shared corpus (../shared/testdata/rulesets: the
# real-world rulesets that have an expected/ listing, the golden inputs
# golden/*.input.nft, and the golden dumps that are their own input), this
# loads the file with `nft -f` into an empty ruleset in a throw-away network
# namespace (run from the file's directory, as the corpus README says),
# then writes `nft -j list ruleset` to ruleset/testdata/json/NAME.json,
# NAME being the path below the corpus with '/' as '__' and without ".nft".
# The references are what ruleset/json_test.go compares `hare ruleset
# print -j` with. A file nft refuses gets no reference (and any old one is
# removed): the test skips it.
#
# Interfaces named by iif/oif/device are resolved to ifindexes at load time,
# so bridges of those names are created in the namespace first (the corpus
# used bridges too: the VM kernel has no dummy link type). A file starting
# with "delete table [F] N" (after its defines) gets that table created first.
#
# --check writes into a temporary directory and compares with the committed
# references; a difference is printed and the exit status is 1.
#
# Needs root, ip(8) and nft 1.0.6; without them it prints "skipped: ..." and
# exits 0. Takes a few seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$here/../shared/testdata/rulesets}
out=$here/ruleset/testdata/json
check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
elif [ $# -gt 0 ]; then
	echo "usage: $0 [--check]" >&2
	exit 2
fi

if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
	echo "skipped: needs root, nft and ip"
	exit 0
fi
if [ ! -d "$corpus" ]; then
	echo "skipped: corpus $corpus absent"
	exit 0
fi
case "$(nft --version)" in
*v1.0.6*) ;;
*) echo "warning: $(nft --version), the references are of nftables v1.0.6" >&2 ;;
esac
mkdir -p "$out"

inputs() {
	(
		cd "$corpus"
		for e in expected/*.nft; do
			f=$(basename "$e")
			f=${f//__//}
			[ -f "$f" ] && echo "$f"
		done
		ls golden/*.input.nft
		for e in golden/*.expected.nft; do
			[ -f "${e%.expected.nft}.input.nft" ] || echo "$e"
		done
	) | sort
}

# ifnames prints the interface names a ruleset resolves at load time.
ifnames() {
	grep -v '^[[:space:]]*#' "$1" |
		grep -oE '\b(iif|oif|device)[[:space:]]+"?[A-Za-z0-9_.@-]+|devices[[:space:]]*=[[:space:]]*\{[^}]*\}' |
		sed -E 's/^(iif|oif|device|devices)[[:space:]]*=?[[:space:]]*//; s/[{}",]/ /g' |
		tr ' ' '\n' | grep -vE '^(|lo|\$.*|\{)$' || true
	# defines of interface-like words (define int_if1 = eth0), used
	# through variables
	sed -nE 's/^[[:space:]]*define[[:space:]]+[A-Za-z0-9_]+[[:space:]]*=[[:space:]]*"?([a-z]+[0-9]+)"?[[:space:]]*$/\1/p' "$1"
}

ns=hare-json-$$
fail=0
while read -r f; do
	name=${f//\//__}
	name=${name%.nft}
	dir=$(dirname "$corpus/$f")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	for i in $(ifnames "$corpus/$f" | sort -u); do
		ip -n "$ns" link add "$i" type bridge 2>/dev/null || true
	done
	first=$(awk '!/^[[:space:]]*(#|$|define )/ { print; exit }' "$corpus/$f")
	if [[ $first =~ ^delete\ table\ (([a-z0-9]+)\ )?([A-Za-z0-9_-]+) ]]; then
		ip netns exec "$ns" nft add table ${BASH_REMATCH[2]:-ip} "${BASH_REMATCH[3]}"
	fi
	if (cd "$dir" && ip netns exec "$ns" nft -f "$corpus/$f") 2>/dev/null; then
		ip netns exec "$ns" nft -j list ruleset >"$out/$name.json"
	else
		echo "nft refuses $f" >&2
		rm -f "$out/$name.json"
	fi
	ip netns del "$ns"
done < <(inputs)

if [ $check = 1 ]; then
	if ! diff -r "$here/ruleset/testdata/json" "$out"; then
		fail=1
	fi
fi
echo "$(ls "$out" | wc -l) references"
exit $fail
