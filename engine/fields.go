package engine

import (
	"strings"

	"github.com/hare-fw/hare/ruleset"
)

// The wider selector set: header fields of ip, ip6 and the transport
// protocols (nft payload expressions), meta keys, IPv6 extension headers
// and TCP options (nft_exthdr), and conntrack keys (nft_ct). The base
// fields are in compile.go; these start at 64 so the two lists grow
// independently.
const (
	fIPVersion field = iota + 64
	fIPHdrLength
	fIPDSCP
	fIPECN
	fIPLength
	fIPID
	fIPFragOff
	fIPChecksum
	fIP6Version
	fIP6DSCP
	fIP6ECN
	fIP6Flowlabel
	fIP6Length

	fMetaProtocol
	fMetaLength
	fMetaPkttype
	fMetaSecpath
	fIif
	fOif
	fIiftype
	fOiftype

	fTCPSeq
	fTCPAckseq
	fTCPDoff
	fTCPWindow
	fTCPChecksum
	fTCPUrgptr
	fTCPOptPresent // arg: option kind
	fTCPOptField   // arg: kind | offset<<8 | length<<16
	fUDPLength
	fUDPChecksum
	fUDPLiteSport
	fUDPLiteDport
	fUDPLiteCsumcov
	fUDPLiteChecksum
	fSCTPSport
	fSCTPDport
	fSCTPVtag
	fSCTPChecksum
	fDCCPSport
	fDCCPDport
	fDCCPType
	fAHNexthdr
	fAHHdrlength
	fAHSPI
	fAHSequence
	fESPSPI
	fESPSequence
	fICMPChecksum
	fICMPID
	fICMPSequence
	fICMPMTU
	fICMPGateway
	fICMPv6Checksum
	fICMPv6ID
	fICMPv6Sequence
	fICMPv6MTU
	fICMPv6MaxDelay

	fExtPresent // arg: header protocol number
	fExtField   // arg: protocol | offset<<8 | length<<16 | shift<<24 (see exthdr.go)

	fCtDirection
	fCtMark
	fCtZone
	fCtL3proto
	fCtProtocol
	fCtHelper
	fCtSaddr4 // arg: direction (see ctArg)
	fCtDaddr4
	fCtSaddr6
	fCtDaddr6
	fCtProtoSrc
	fCtProtoDst
	fCtPackets
	fCtBytes
	fCtAvgpkt

	fFibOif // arg: fibDaddr, fibIif (fib.go)
	fFibOifPresent
	fFibOifname
	fFibType
)

// Widths and symbol types of the new fields (value.go reads literals by
// vtype).
const (
	tU1 vtype = iota + 64
	tU4
	tU16
	tU20
	tU64
	tDSCP
	tECN
	tEtherType
	tPktType
	tIfType
	tIfindex
	tCtDir
	tDCCPType
	tPresence // exists / missing
	tFibAddrType
)

// selector describes one selector: its field, value type and the field's
// argument (see cond.arg).
type selector struct {
	f   field
	t   vtype
	arg uint32
}

// moreSelectors are added to selectors at init.
var moreSelectors = map[string]selector{
	"ip version":    {fIPVersion, tU4, 0},
	"ip hdrlength":  {fIPHdrLength, tU4, 0},
	"ip dscp":       {fIPDSCP, tDSCP, 0},
	"ip ecn":        {fIPECN, tECN, 0},
	"ip length":     {fIPLength, tU16, 0},
	"ip id":         {fIPID, tU16, 0},
	"ip frag-off":   {fIPFragOff, tU16, 0},
	"ip checksum":   {fIPChecksum, tU16, 0},
	"ip6 version":   {fIP6Version, tU4, 0},
	"ip6 dscp":      {fIP6DSCP, tDSCP, 0},
	"ip6 ecn":       {fIP6ECN, tECN, 0},
	"ip6 flowlabel": {fIP6Flowlabel, tU20, 0},
	"ip6 length":    {fIP6Length, tU16, 0},

	"meta protocol": {fMetaProtocol, tEtherType, 0},
	"meta length":   {fMetaLength, tU32, 0},
	"meta pkttype":  {fMetaPkttype, tPktType, 0},
	"meta ipsec":    {fMetaSecpath, tPresence, 0},
	"meta secpath":  {fMetaSecpath, tPresence, 0},
	"meta iif":      {fIif, tIfindex, 0},
	"meta oif":      {fOif, tIfindex, 0},
	"meta iiftype":  {fIiftype, tIfType, 0},
	"meta oiftype":  {fOiftype, tIfType, 0},

	"tcp sequence":     {fTCPSeq, tU32, 0},
	"tcp ackseq":       {fTCPAckseq, tU32, 0},
	"tcp doff":         {fTCPDoff, tU4, 0},
	"tcp window":       {fTCPWindow, tU16, 0},
	"tcp checksum":     {fTCPChecksum, tU16, 0},
	"tcp urgptr":       {fTCPUrgptr, tU16, 0},
	"udp length":       {fUDPLength, tU16, 0},
	"udp checksum":     {fUDPChecksum, tU16, 0},
	"udplite sport":    {fUDPLiteSport, tPort, 0},
	"udplite dport":    {fUDPLiteDport, tPort, 0},
	"udplite csumcov":  {fUDPLiteCsumcov, tU16, 0},
	"udplite checksum": {fUDPLiteChecksum, tU16, 0},
	"sctp sport":       {fSCTPSport, tPort, 0},
	"sctp dport":       {fSCTPDport, tPort, 0},
	"sctp vtag":        {fSCTPVtag, tU32, 0},
	"sctp checksum":    {fSCTPChecksum, tU32, 0},
	"dccp sport":       {fDCCPSport, tPort, 0},
	"dccp dport":       {fDCCPDport, tPort, 0},
	"dccp type":        {fDCCPType, tDCCPType, 0},
	"ah nexthdr":       {fAHNexthdr, tProto, 0},
	"ah hdrlength":     {fAHHdrlength, tU8, 0},
	"ah spi":           {fAHSPI, tU32, 0},
	"ah sequence":      {fAHSequence, tU32, 0},
	"esp spi":          {fESPSPI, tU32, 0},
	"esp sequence":     {fESPSequence, tU32, 0},
	"icmp checksum":    {fICMPChecksum, tU16, 0},
	"icmp id":          {fICMPID, tU16, 0},
	"icmp sequence":    {fICMPSequence, tU16, 0},
	"icmp mtu":         {fICMPMTU, tU16, 0},
	"icmp gateway":     {fICMPGateway, tU32, 0},
	"icmpv6 checksum":  {fICMPv6Checksum, tU16, 0},
	"icmpv6 id":        {fICMPv6ID, tU16, 0},
	"icmpv6 sequence":  {fICMPv6Sequence, tU16, 0},
	"icmpv6 mtu":       {fICMPv6MTU, tU32, 0},
	"icmpv6 max-delay": {fICMPv6MaxDelay, tU16, 0},

	"ct direction": {fCtDirection, tCtDir, 0},
	"ct mark":      {fCtMark, tU32, 0},
	"ct zone":      {fCtZone, tU16, 0},
	"ct l3proto":   {fCtL3proto, tNfproto, 0},
	"ct protocol":  {fCtProtocol, tProto, 0},
	"ct helper":    {fCtHelper, tIfname, 0}, // a 16-byte string (NF_CT_HELPER_NAME_LEN)
	"ct packets":   {fCtPackets, tU64, ctBoth},
	"ct bytes":     {fCtBytes, tU64, ctBoth},
	"ct avgpkt":    {fCtAvgpkt, tU64, ctBoth},
}

// Conntrack direction arguments (nft_ct priv->dir; ctBoth is the
// kernel's IP_CT_DIR_MAX, "no direction": the sum of both).
const (
	ctOriginal uint32 = 0
	ctReply    uint32 = 1
	ctBoth     uint32 = 2
)

func init() {
	for _, d := range []struct {
		word string
		arg  uint32
	}{{"original", ctOriginal}, {"reply", ctReply}} {
		for _, k := range []struct {
			key string
			s   selector
		}{
			{"packets", selector{fCtPackets, tU64, 0}},
			{"bytes", selector{fCtBytes, tU64, 0}},
			{"avgpkt", selector{fCtAvgpkt, tU64, 0}},
			{"proto-src", selector{fCtProtoSrc, tPort, 0}},
			{"proto-dst", selector{fCtProtoDst, tPort, 0}},
			{"ip saddr", selector{fCtSaddr4, tAddr4, 0}},
			{"ip daddr", selector{fCtDaddr4, tAddr4, 0}},
			{"ip6 saddr", selector{fCtSaddr6, tAddr6, 0}},
			{"ip6 daddr", selector{fCtDaddr6, tAddr6, 0}},
			// Without ip or ip6 the family is the value's (ctAddrFamily).
			{"saddr", selector{fCtSaddr4, tAddr4, 0}},
			{"daddr", selector{fCtDaddr4, tAddr4, 0}},
			{"l3proto", selector{fCtL3proto, tNfproto, 0}},
			{"protocol", selector{fCtProtocol, tProto, 0}},
		} {
			s := k.s
			s.arg = d.arg
			moreSelectors["ct "+d.word+" "+k.key] = s
		}
	}
	for name, s := range tcpOptSelectors() {
		moreSelectors[name] = s
	}
	for name, s := range extSelectors() {
		moreSelectors[name] = s
	}
	for name, s := range fibSelectors() {
		moreSelectors[name] = s
	}
	// Meta keys written without "meta" (nft's unqualified forms).
	for _, k := range []string{"iif", "oif", "iiftype", "oiftype", "pkttype"} {
		moreSelectors[k] = moreSelectors["meta "+k]
	}
	for name, s := range moreSelectors {
		selectorArgs[name] = s.arg
		selectors[name] = struct {
			f field
			t vtype
		}{s.f, s.t}
	}
}

// selectorArgs holds the argument of each selector that has one.
var selectorArgs = map[string]uint32{}

// refineMatch is refine for compileMatch: the selector's field, type and
// argument once its right-hand side is known.
func refineMatch(name string, st struct {
	f field
	t vtype
}, y ruleset.Expr) (struct {
	f field
	t vtype
}, uint32) {
	r := refine(name, selector{f: st.f, t: st.t}, firstText(y))
	st.f, st.t = r.f, r.t
	return st, r.arg
}

// firstText is the text of the first literal of a right-hand side.
func firstText(x ruleset.Expr) string {
	switch x := x.(type) {
	case *ruleset.Value:
		return x.Text
	case *ruleset.Prefix:
		return firstText(x.X)
	case *ruleset.Range:
		return firstText(x.Lo)
	case *ruleset.SetExpr:
		if len(x.Elems) > 0 {
			return firstText(x.Elems[0])
		}
	case *ruleset.Elem:
		return firstText(x.X)
	}
	return ""
}

// unsupportedSelector is the error for a selector Compile does not know.
func unsupportedSelector(name string) string {
	if why, ok := unsupportedMeta[strings.TrimPrefix(name, "meta ")]; ok {
		return "unsupported: selector " + name + " (" + why + ")"
	}
	return "unsupported: selector " + name
}

// unsupportedMeta are meta keys refused with a reason (the replay has no
// socket, no CPU, no clock of day): an error, never a guess.
var unsupportedMeta = map[string]string{
	"skuid": "no local socket in the replay", "skgid": "no local socket in the replay",
	"cpu": "the replay has no CPU number", "cgroup": "no local socket in the replay",
	"rtclassid": "no routing realm in the replay", "nftrace": "tracing is a statement here",
	"priority": "no skb priority in the replay", "iifgroup": "no device group in the replay",
	"oifgroup": "no device group in the replay", "time": "no wall clock in the replay",
	"day": "no wall clock in the replay", "hour": "no wall clock in the replay",
	"secmark": "no security marks in the replay", "ibrname": "no bridge in the replay",
	"obrname": "no bridge in the replay",
}

// refine adjusts a selector to its operand where nft does: `iif "eth0"`
// names an interface nft resolves to its index at load; with the single
// replay interface (ReplayIfindex) the name comparison is the same test,
// so it compiles to iifname. `ct original saddr` without ip or ip6 takes
// the family of its value (nft takes the table's; in an ip or ip6 table
// they agree, and in inet nft asks for ip or ip6 - see DIFFERENCES.md).
func refine(name string, st selector, rhs string) selector {
	st.arg = selectorArgs[name]
	switch st.f {
	case fIif, fOif:
		if rhs != "" && (rhs[0] < '0' || rhs[0] > '9') {
			if st.f == fIif {
				return selector{f: fIifname, t: tIfname}
			}
			return selector{f: fOifname, t: tIfname}
		}
	case fFibOif:
		switch {
		case rhs == "exists" || rhs == "missing":
			st.f, st.t = fFibOifPresent, tPresence
		case rhs != "" && (rhs[0] < '0' || rhs[0] > '9'):
			st.f, st.t = fFibOifname, tIfname
		}
	case fCtSaddr4, fCtDaddr4:
		if !strings.Contains(name, " ip ") && strings.Contains(rhs, ":") {
			st.t = tAddr6
			st.f = map[field]field{fCtSaddr4: fCtSaddr6, fCtDaddr4: fCtDaddr6}[st.f]
		}
	}
	return st
}

// fieldGuard is the rule guard (rule.guard) a new field implies: the IP
// version and the transport protocol a packet must have for it to load.
// Only tcp, udp, icmp and icmpv6 are guard protocols (the index classes).
func fieldGuard(f field) (ver, proto uint8) {
	switch {
	case f >= fIPVersion && f <= fIPChecksum:
		return 4, 0
	case f >= fIP6Version && f <= fIP6Length, f == fExtPresent, f == fExtField:
		return 6, 0
	case f >= fTCPSeq && f <= fTCPUrgptr:
		// Not TCP options: nft adds no tcp dependency to them, and
		// `missing` holds for any packet without the option.
		return 0, 6
	case f == fUDPLength || f == fUDPChecksum:
		return 0, 17
	case f >= fICMPChecksum && f <= fICMPGateway:
		return 0, 1
	case f >= fICMPv6Checksum && f <= fICMPv6MaxDelay:
		return 0, 58
	}
	return 0, 0
}

// slashMatch compiles `tcp flags syn / syn,ack`, nft's short form of
// `tcp flags & (syn|ack) == syn`: the value under the mask.
func slashMatch(cd cond, m *ruleset.Match, b *ruleset.Binop, t vtype) (cond, error) {
	if cd.hasMask || !t.isBitmask() {
		return cd, &Error{b.Pos, "unsupported: / on a value that is not flags"}
	}
	v, err := bits(b.X, t)
	if err != nil {
		return cd, err
	}
	mk, err := bits(b.Y, t)
	if err != nil {
		return cd, err
	}
	switch m.Op {
	case "", "==":
	case "!=":
		cd.neg = true
	default:
		return cd, &Error{m.Pos, "unsupported: operator " + m.Op + " with /"}
	}
	cd.hasMask, cd.mask = true, mk
	cd.set = ivset{{u128{lo: v}, u128{lo: v}}} // never holds for bits outside the mask
	return cd, nil
}
