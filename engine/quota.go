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

// QuotaValue is what one anonymous quota statement has consumed.
type QuotaValue struct {
	CounterKey
	Used uint64
}

// Quotas returns the usage of the rules' anonymous quota statements, in
// ruleset order, as nft lists it ("used N"): at most the quota
// (nft_quota_do_dump). Named quotas are in Objects.
func (c *Compiled) Quotas() []QuotaValue {
	var out []QuotaValue
	for i := range c.chains {
		ch := &c.chains[i]
		for j := range ch.rules {
			rl := &ch.rules[j]
			for k := range rl.ops {
				if o := &rl.ops[k]; o.kind == opQuota && !o.x.named {
					q := o.x.quota
					out = append(out, QuotaValue{CounterKey{ch.family, ch.table, ch.name, rl.handle}, min(q.consumed.Load(), q.limit)})
				}
			}
		}
	}
	return out
}
