package engine

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// fieldSelectors is the selector each field is loaded for, and its type,
// for printing a value (TraceEvent.Value).
var fieldSelectors = func() map[field]struct {
	words []string
	t     vtype
} {
	m := map[field]struct {
		words []string
		t     vtype
	}{}
	for name, st := range selectors {
		if st.f == fNone {
			continue
		}
		// The qualified form (meta mark, not mark) names the field.
		if old, ok := m[st.f]; ok && len(old.words) >= len(strings.Fields(name)) {
			continue
		}
		m[st.f] = struct {
			words []string
			t     vtype
		}{strings.Fields(name), st.t}
	}
	return m
}()

// flagOrder lists the names of the bitmask types in bit order.
var flagOrder = map[vtype][]string{
	tTCPFlags: {"fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"},
	tCtState:  {"invalid", "established", "related", "new", "untracked"},
	tCtStatus: {"expected", "seen-reply", "assured", "confirmed", "snat", "dnat", "dying"},
}

// Value returns the value the failing match of a TraceNoMatch event
// loaded from the packet, printed as nft prints a value of that selector
// (addresses, port numbers, protocol and ICMP type names, flag lists,
// quoted interface names); "none" when the packet has no such field
// (another family or protocol, no transport header, no conntrack entry).
func (ev *TraceEvent) Value() string {
	if ev.Kind != TraceNoMatch || ev.field == fNone {
		return ""
	}
	if !ev.present {
		return "none"
	}
	fs, ok := fieldSelectors[ev.field]
	if !ok {
		return ""
	}
	v := ev.value
	switch fs.t {
	case tAddr4:
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b).String()
	case tAddr6:
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], v.hi)
		binary.BigEndian.PutUint64(b[8:], v.lo)
		return netip.AddrFrom16(b).String()
	case tIfname:
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], v.hi)
		binary.BigEndian.PutUint64(b[8:], v.lo)
		return strconv.Quote(strings.TrimRight(string(b[:]), "\x00"))
	case tU32:
		return "0x" + leftPad(strconv.FormatUint(v.lo, 16), 8)
	case tTCPFlags, tCtState, tCtStatus:
		var names []string
		rest := v.lo
		for _, n := range flagOrder[fs.t] {
			var bit uint64
			switch fs.t {
			case tTCPFlags:
				b, _ := ruleset.TCPFlag(n)
				bit = uint64(b)
			case tCtState:
				b, _ := ruleset.CtState(n)
				bit = uint64(b)
			default:
				b, _ := ruleset.CtStatus(n)
				bit = uint64(b)
			}
			if bit != 0 && rest&bit != 0 {
				names = append(names, n)
				rest &^= bit
			}
		}
		if rest != 0 || len(names) == 0 {
			names = append(names, "0x"+strconv.FormatUint(rest, 16))
		}
		return strings.Join(names, ",")
	case tProto, tICMPType, tICMPv6Type:
		// The printer knows the names: print a match on the value and keep
		// its right-hand side.
		sel := &ruleset.Selector{Words: fs.words}
		s := ruleset.StmtString(&ruleset.Match{X: sel, Y: &ruleset.Value{Text: strconv.FormatUint(v.lo, 10)}}, ruleset.FamilyInet)
		return strings.TrimPrefix(s, strings.Join(fs.words, " ")+" ")
	case tNfproto:
		switch v.lo {
		case 2:
			return "ipv4"
		case 10:
			return "ipv6"
		}
	}
	return strconv.FormatUint(v.lo, 10)
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
