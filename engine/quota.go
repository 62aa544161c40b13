package engine

import "sync/atomic"

// quota is the state of a quota statement or named quota object (Linux
// struct nft_quota): bytes consumed so far, an atomic the packets add to
// without a lock.
type quota struct {
	consumed atomic.Uint64
	limit    uint64
	invert   bool // over
}

// breaks adds the packet's length and reports whether the rule stops here
// (nft_quota_do_eval: NFT_BREAK). The packet is over the quota when the
// total with it exceeds the limit: nft_overquota tests consumed > quota
// on the kernel the oracle runs (6.18; kernels before the 2025 fix "match
// correctly when the quota just depleted" tested >=), so the packet that
// reaches the limit exactly is still within it (the kernel oracle pins it:
// testdata/rules-oracle/limits.nft, `quota 168 bytes` on two 84-byte
// replies). Without `over` the
// rule goes on within the quota; with it, only beyond.
func (q *quota) breaks(length uint32) bool {
	over := q.consumed.Add(uint64(length)) > q.limit
	return over != q.invert
}
