package engine

import (
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// compileSetStmt compiles the assignments the engine supports: `meta
// nftrace set 0|1` (nft_meta_set_eval: NFT_META_NFTRACE sets
// skb->nf_trace; valid in any chain). Other assignments are refused by
// name.
func compileSetStmt(_ *chain, s *ruleset.SetStmt) (op, error) {
	key := strings.Join(s.Key.Words, " ")
	switch key {
	case "meta nftrace", "nftrace":
		v, ok := s.Val.(*ruleset.Value)
		if !ok || (v.Text != "0" && v.Text != "1") {
			return op{}, &Error{s.Pos, "meta nftrace set takes 0 or 1"}
		}
		o := op{kind: opNftrace}
		if v.Text == "1" {
			o.target = 1
		}
		return o, nil
	}
	return op{}, &Error{s.Pos, "unsupported: set statement " + key}
}
