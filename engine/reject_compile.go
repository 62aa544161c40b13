package engine

import (
	"strconv"

	"github.com/hare-fw/hare/ruleset"
)

// Code names a reject statement takes after `with icmp type`, `with icmpv6
// type` and `with icmpx type` (nft's icmp_code, icmpv6_code and icmpx_code
// types; a number is taken as the code itself).
var (
	rejectCodes4 = map[string]uint8{
		"net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3,
		"frag-needed": 4, "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13,
	}
	rejectCodes6 = map[string]uint8{
		"no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3, "port-unreachable": 4,
		"policy-fail": 5, "reject-route": 6,
	}
	rejectCodesX = map[string]uint8{
		"no-route": IcmpxNoRoute, "port-unreachable": IcmpxPortUnreachable,
		"host-unreachable": IcmpxHostUnreachable, "admin-prohibited": IcmpxAdminProhibited,
	}
)

// rejectKindOf compiles a reject statement of a table of family fam. A
// bare `reject` is port unreachable for the table's family (nft
// stmt_evaluate_reject_default: icmp in ip, icmpv6 in ip6, icmpx in inet).
func rejectKindOf(s *ruleset.RejectStmt, fam ruleset.Family) (RejectKind, error) {
	switch s.With {
	case "":
		switch fam {
		case ruleset.FamilyIP:
			return RejectKind{RejectICMP, 3}, nil
		case ruleset.FamilyIP6:
			return RejectKind{RejectICMPv6, 4}, nil
		}
		return RejectKind{RejectICMPx, IcmpxPortUnreachable}, nil
	case "tcp":
		return RejectKind{With: RejectTCPReset}, nil
	}
	var k RejectKind
	var names map[string]uint8
	switch s.With {
	case "icmp":
		k.With, names = RejectICMP, rejectCodes4
		if fam == ruleset.FamilyIP6 {
			return k, &Error{s.Pos, "reject with icmp is not valid in an ip6 table"}
		}
	case "icmpv6":
		k.With, names = RejectICMPv6, rejectCodes6
		if fam == ruleset.FamilyIP {
			return k, &Error{s.Pos, "reject with icmpv6 is not valid in an ip table"}
		}
	case "icmpx":
		k.With, names = RejectICMPx, rejectCodesX
	default:
		return k, &Error{s.Pos, "unsupported: reject with " + s.With}
	}
	v, ok := s.Type.(*ruleset.Value)
	if !ok {
		return k, &Error{s.Pos, "reject: the type must be a code name or number"}
	}
	if c, ok := names[v.Text]; ok {
		k.Code = c
		return k, nil
	}
	n, err := strconv.ParseUint(v.Text, 0, 8)
	if err != nil || (k.With == RejectICMPx && n > IcmpxAdminProhibited) {
		return k, &Error{v.Pos, "reject: unknown " + s.With + " code " + strconv.Quote(v.Text)}
	}
	k.Code = uint8(n)
	return k, nil
}
