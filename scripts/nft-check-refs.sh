#!/bin/sh
# nft-check-refs.sh: run every case of ruleset/testdata/check-cases.txt
# through the real nft (nft -c -f, inside a throw-away network namespace so
# the host ruleset is neither read nor touched) and write whether nft
# accepts it to ruleset/testdata/check-nft.txt, one "ID<TAB>ok" or
# "ID<TAB>Error: first error message" line per case. TestCheckNft compares
# hare's ruleset check with it.
#
# Needs root and nft (1.0.6 is the target; the version is recorded).
# Regenerate the cases first when rules.t or the mutations change:
#   go test ./ruleset -run TestGenCheckCases -gencheck
set -eu
cd "$(dirname "$0")/.."
cases=ruleset/testdata/check-cases.txt
out=ruleset/testdata/check-nft.txt
ns=hare-check-$$
tmp=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"' EXIT
ip netns add "$ns"
# Split the cases into one file each; ids go to a list in order.
awk -v dir="$tmp" '
	/^@ / { n++; f = sprintf("%s/%06d.nft", dir, n); print substr($0, 3) > (dir "/ids"); next }
	/^$/ { next }
	{ print > f }
' "$cases"
{
	echo "# nft -c verdicts of $cases; written by scripts/nft-check-refs.sh with $(nft --version)"
	n=0
	while IFS= read -r id; do
		n=$((n + 1))
		f=$(printf '%s/%06d.nft' "$tmp" "$n")
		if msg=$(ip netns exec "$ns" nft -c -f "$f" 2>&1); then
			printf '%s\tok\n' "$id"
		else
			# nft 1.0.6 aborts on a few inputs (assertion failures): "crash",
			# which the test leaves out.
			err=$(printf '%s\n' "$msg" | grep -m1 -o 'Error: .*' || true)
			printf '%s\t%s\n' "$id" "${err:-crash}"
		fi
	done < "$tmp/ids"
} > "$out.tmp"
mv "$out.tmp" "$out"
grep -c '	ok$' "$out" | sed 's/^/accepted: /'
grep -vc "	ok$" "$out" | sed "s/^/rejected or crashed (with the header line): /"
