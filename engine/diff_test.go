package engine_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
	"github.com/hare-fw/hare/ruleset"
)

// Random rulesets and packets for the differential against slowEngine.
// Addresses, ports and interface names come from small pools so that
// matches happen; packets form a few flows in both directions so that
// conntrack reports new, established and invalid states.

var (
	pool4 = []string{"10.0.0.1", "10.0.0.2", "10.1.2.3", "192.168.1.5", "192.0.2.9", "224.0.0.251", "255.255.255.255"}
	pool6 = []string{"2001:db8::1", "2001:db8::2", "2001:db8:1::5", "fe80::1", "2001:db9::7", "ff02::1"}
	net4  = []string{"10.0.0.0/8", "10.0.0.0/30", "192.168.0.0/16", "10.0.0.1-10.0.0.2", "10.0.0.2-192.168.1.5"}
	net6  = []string{"2001:db8::/32", "fe80::/10", "2001:db8::/127", "2001:db8::1-2001:db8::ff"}
	ports = []string{"22", "53", "80", "443", "ssh", "http", "1024-65535", "8080-8090", "0-79"}
	ifs   = []string{"eth0", "lo", "wlan0"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// genValues writes a right-hand side: one value or an anonymous set.
func genValues(r *rand.Rand, xs []string) string {
	if r.IntN(3) > 0 {
		return pick(r, xs)
	}
	n := 1 + r.IntN(3)
	seen := map[string]bool{}
	var out []string
	for range n {
		x := pick(r, xs)
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return "{ " + strings.Join(out, ", ") + " }"
}

func genOp(r *rand.Rand) string {
	if r.IntN(4) == 0 {
		return "!= "
	}
	return ""
}

func genMatch(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return genFieldMatch(r)
	}
	if r.IntN(5) == 0 {
		return genSetMatch(r) // diff_sets_test.go
	}
	switch r.IntN(20) {
	case 17:
		return fmt.Sprintf("ip %s %s@%s", pick(r, []string{"saddr", "daddr"}), genOp(r), pick(r, []string{"s4", "i4"}))
	case 18:
		return fmt.Sprintf("ip6 %s %s@%s", pick(r, []string{"saddr", "daddr"}), genOp(r), pick(r, []string{"s6", "i6"}))
	case 19:
		return fmt.Sprintf("%s %s %s@ports", pick(r, []string{"tcp", "udp"}), pick(r, []string{"sport", "dport"}), genOp(r))
	case 0:
		return fmt.Sprintf("ip %s %s%s", pick(r, []string{"saddr", "daddr"}), genOp(r), genValues(r, append(pool4[:len(pool4):len(pool4)], net4...)))
	case 1:
		return fmt.Sprintf("ip6 %s %s%s", pick(r, []string{"saddr", "daddr"}), genOp(r), genValues(r, append(pool6[:len(pool6):len(pool6)], net6...)))
	case 2:
		return fmt.Sprintf("%s %s %s%s", pick(r, []string{"tcp", "udp"}), pick(r, []string{"sport", "dport"}), genOp(r), genValues(r, ports))
	case 3:
		return fmt.Sprintf("%s %s %s %d", pick(r, []string{"tcp", "udp"}), pick(r, []string{"sport", "dport"}), pick(r, []string{"<", "<=", ">", ">="}), 1+r.IntN(1100))
	case 4:
		return "meta l4proto " + genOp(r) + genValues(r, []string{"tcp", "udp", "icmp", "ipv6-icmp"})
	case 5:
		return "ip protocol " + genOp(r) + genValues(r, []string{"tcp", "udp", "icmp"})
	case 6:
		return "ip6 nexthdr " + genOp(r) + genValues(r, []string{"tcp", "udp", "ipv6-icmp"})
	case 7:
		return "tcp flags " + genOp(r) + pick(r, []string{"syn", "syn,ack", "fin", "rst", "ack"})
	case 8:
		return "tcp flags & (syn|ack|fin|rst) == " + pick(r, []string{"syn", "syn|ack", "ack", "fin|ack"})
	case 9:
		return "ct state " + genOp(r) + pick(r, []string{"new", "established", "established,related", "invalid", "untracked", "new,invalid"})
	case 10:
		return "icmp type " + genOp(r) + genValues(r, []string{"echo-request", "echo-reply", "destination-unreachable"})
	case 11:
		return "icmpv6 type " + genOp(r) + genValues(r, []string{"echo-request", "echo-reply", "nd-neighbor-solicit", "packet-too-big"})
	case 12:
		return "meta mark " + genOp(r) + pick(r, []string{"0x1", "0", "0x101", "1-5"})
	case 13:
		return "meta mark & 0xff == " + pick(r, []string{"0x1", "0"})
	case 14:
		return "iifname " + genOp(r) + genValues(r, []string{`"eth0"`, `"eth*"`, `"lo"`, `"wlan0"`})
	case 15:
		return fmt.Sprintf("ip ttl %s%d-%d", genOp(r), r.IntN(64), 64+r.IntN(192))
	default:
		return "meta nfproto " + pick(r, []string{"ipv4", "ipv6"})
	}
}

// genRuleset writes a random ruleset of the supported subset: one to three
// tables, base chains on prerouting (some before conntrack, with notrack)
// and input, regular chains jumped to only forwards (no loops).
func genRuleset(r *rand.Rand) string {
	var b strings.Builder
	nt := 1 + r.IntN(3)
	for ti := range nt {
		fam := pick(r, []string{"ip", "ip6", "inet", "inet"})
		fmt.Fprintf(&b, "table %s t%d {\n", fam, ti)
		genSets(r, &b)
		genObjects(r, &b) // diff_stmt_test.go
		nreg := r.IntN(3)
		type base struct{ hook, prio string }
		var bases []base
		for range 1 + r.IntN(2) {
			bases = append(bases, pick(r, []base{{"input", "filter"}, {"input", "filter - 1"}, {"input", "10"}, {"prerouting", "raw"}, {"prerouting", "filter"}}))
		}
		body := func(from int, raw bool) {
			for range r.IntN(7) {
				var parts []string
				for range r.IntN(4) {
					parts = append(parts, genMatch(r))
				}
				if r.IntN(6) == 0 {
					parts = append(parts, genDynset(r))
				}
				for r.IntN(4) == 0 {
					parts = append(parts, genStmt(r))
				}
				if r.IntN(3) == 0 {
					parts = append(parts, "counter")
				}
				if raw && r.IntN(3) == 0 {
					parts = append(parts, "notrack")
				}
				switch k := r.IntN(10); {
				case k < 3:
					parts = append(parts, "accept")
				case k < 5:
					parts = append(parts, "drop")
				case k == 5:
					rj := []string{"reject", "reject with tcp reset", "reject with icmpx type admin-prohibited"}
					if fam != "ip6" {
						rj = append(rj, "reject with icmp type host-unreachable")
					}
					if fam != "ip" {
						rj = append(rj, "reject with icmpv6 type admin-prohibited")
					}
					parts = append(parts, pick(r, rj))
				case k == 6 && from < nreg:
					parts = append(parts, fmt.Sprintf("%s c%d", pick(r, []string{"jump", "goto"}), from+r.IntN(nreg-from)))
				case k == 7:
					parts = append(parts, pick(r, []string{"return", "continue"}))
				case k == 8:
					parts = append(parts, genVmap(r, from, nreg))
				}
				if len(parts) == 0 {
					parts = append(parts, "counter")
				}
				fmt.Fprintf(&b, "\t\t%s\n", strings.Join(parts, " "))
			}
		}
		for i, bs := range bases {
			fmt.Fprintf(&b, "\tchain b%d {\n\t\ttype filter hook %s priority %s; policy %s;\n", i, bs.hook, bs.prio, pick(r, []string{"accept", "accept", "drop"}))
			body(0, bs.prio == "raw")
			b.WriteString("\t}\n")
		}
		for i := range nreg {
			fmt.Fprintf(&b, "\tchain c%d {\n", i)
			body(i+1, false)
			b.WriteString("\t}\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// genSets declares the named sets genMatch refers to: exact sets s4 and
// s6, interval sets i4, i6 and ports.
func genSets(r *rand.Rand, b *strings.Builder) {
	some := func(xs []string) string {
		var out []string
		for _, x := range xs {
			if r.IntN(2) == 0 {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			return ""
		}
		return " elements = { " + strings.Join(out, ", ") + " };"
	}
	fmt.Fprintf(b, "\tset s4 { type ipv4_addr;%s }\n", some(pool4))
	fmt.Fprintf(b, "\tset s6 { type ipv6_addr;%s }\n", some(pool6))
	fmt.Fprintf(b, "\tset i4 { type ipv4_addr; flags interval;%s }\n", some(append(pool4[:len(pool4):len(pool4)], net4...)))
	fmt.Fprintf(b, "\tset i6 { type ipv6_addr; flags interval;%s }\n", some(append(pool6[:len(pool6):len(pool6)], net6...)))
	fmt.Fprintf(b, "\tset ports { type inet_service; flags interval;%s }\n", some(ports))
	genMoreSets(r, b)
}

// flow is a connection the packet generator draws from.
type flow struct {
	v6           bool
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16
}

func genFlows(r *rand.Rand) []flow {
	var fs []flow
	for range 6 {
		f := flow{v6: r.IntN(2) == 0}
		if f.v6 {
			f.src, f.dst = netip.MustParseAddr(pick(r, pool6)), netip.MustParseAddr(pick(r, pool6))
		} else {
			f.src, f.dst = netip.MustParseAddr(pick(r, pool4)), netip.MustParseAddr(pick(r, pool4))
		}
		f.proto = pick(r, []uint8{pt.ProtoTCP, pt.ProtoTCP, pt.ProtoUDP, pt.ProtoICMP, pt.ProtoSCTP})
		f.sport = pick(r, []uint16{22, 53, 80, 443, 1023, 1024, 40000, 8085})
		f.dport = pick(r, []uint16{22, 53, 80, 443, 1023, 1024, 40000, 8085})
		fs = append(fs, f)
	}
	return fs
}

// genPacket builds one IP datagram of a random flow, in either direction.
func genPacket(r *rand.Rand, fs []flow) []byte {
	f := pick(r, fs)
	src, dst, sp, dp := f.src, f.dst, f.sport, f.dport
	if r.IntN(3) == 0 {
		src, dst, sp, dp = dst, src, dp, sp
	}
	var l4 []byte
	proto := f.proto
	switch proto {
	case pt.ProtoTCP:
		fl := pick(r, []packet.TCPFlags{packet.TCPSyn, packet.TCPSyn | packet.TCPAck, packet.TCPAck, packet.TCPAck, packet.TCPFin | packet.TCPAck, packet.TCPRst})
		l4 = pt.TCP(src, dst, pt.TCPHeader{SrcPort: sp, DstPort: dp, Seq: 1000, Ack: 1, Flags: fl, Window: 65535,
			Urgent: uint16(r.IntN(2)), Options: genTCPOptions(r)}, nil)
	case pt.ProtoUDP:
		l4 = pt.UDP(src, dst, sp, dp, []byte("x"))
	case pt.ProtoSCTP:
		l4 = pt.SCTP(sp, dp, uint32(r.IntN(3)), pt.SCTPInit(1, 2, 3, 4, 5))
	default:
		if f.v6 {
			proto = pt.ProtoICMPv6
			if r.IntN(4) == 0 {
				l4 = pt.NeighborSolicitation(src, dst, dst, nil)
			} else {
				l4 = pt.ICMPv6Echo(src, dst, r.IntN(2) == 0, 7, uint16(r.IntN(3)), nil)
			}
		} else {
			l4 = pt.ICMPv4Echo(r.IntN(2) == 0, 7, uint16(r.IntN(3)), nil)
		}
	}
	if f.v6 {
		nh, payload := genExtHeaders(r, proto, l4)
		return pt.IPv6(src, dst, nh, payload, pt.HopLimit(uint8(1+r.IntN(255))),
			pt.TrafficClass(uint8(r.IntN(256))), pt.FlowLabel(uint32(r.IntN(3))))
	}
	opts := []pt.IPv4Option{pt.TTL(uint8(1 + r.IntN(255))), pt.TOS(uint8(r.IntN(256))), pt.ID(uint16(r.IntN(3)))}
	if r.IntN(2) == 0 {
		opts = append(opts, pt.DF())
	}
	return pt.IPv4(src, dst, proto, l4, opts...)
}

func buildRuleset(t testing.TB, src string) *ruleset.Ruleset {
	t.Helper()
	f, err := ruleset.Parse("rand.nft", []byte(src), ruleset.Config{})
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return rs
}

// diffRun replays packets through the compiled engine and the reference
// and reports the first disagreement.
func diffRun(t testing.TB, src string, frames [][]byte) (compared, byRule int) {
	t.Helper()
	return diffRunMeta(t, src, frames, func(i int) engine.Meta {
		return engine.Meta{Iifname: engine.IfName(ifs[i%len(ifs)]), Mark: uint32([]int{0, 1, 0x101}[i%3])}
	})
}

// diffRunMeta is diffRun with packet i's Meta from meta.
func diffRunMeta(t testing.TB, src string, frames [][]byte, meta func(i int) engine.Meta) (compared, byRule int) {
	t.Helper()
	rs := buildRuleset(t, src)
	c, err := engine.Compile(rs)
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, src)
	}
	eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
	slow := newSlowEngine(rs)
	var p1, p2 packet.Parsed
	var res engine.Result
	for i, fr := range frames {
		m := meta(i)
		now := int64(i+1) * 1e6
		p1.DecodeIP(fr)
		p2.DecodeIP(fr)
		eng.Packet(&p1, &m, now, &res)
		want := slow.packet(&p2, &m, now)
		got := slowResult{res.Verdict, res.By, res.Hook, res.Table, res.Chain, res.Rule}
		if got != want {
			t.Fatalf("packet %d (%x): engine %+v, reference %+v\nruleset:\n%s", i, fr, got, want, src)
		}
		if res.Mark != slow.lastMark {
			t.Fatalf("packet %d (%x): engine mark %#x, reference %#x\nruleset:\n%s", i, fr, res.Mark, slow.lastMark, src)
		}
		compared++
		if got.by == engine.DecidedRule {
			byRule++
		}
	}
	compareSlowObjects(t, c, slow, src) // diff_stmt_test.go
	gotC := c.Counters()
	wantC := slow.countersInOrder()
	if len(gotC) != len(wantC) {
		t.Fatalf("%d counters, reference %d\n%s", len(gotC), len(wantC), src)
	}
	for i := range gotC {
		if gotC[i].Packets != wantC[i] {
			t.Fatalf("counter %d (%+v): engine %d packets, reference %d\n%s", i, gotC[i].CounterKey, gotC[i].Packets, wantC[i], src)
		}
	}
	return compared, byRule
}

// TestDifferential compares the compiled engine with the reference
// interpreter on seeded random rulesets and packets.
func TestDifferential(t *testing.T) {
	rulesets, perRuleset := 2000, 200
	if testing.Short() {
		rulesets = 200
	}
	total, byRule := 0, 0
	for seed := range rulesets {
		r := rand.New(rand.NewPCG(uint64(seed), 0x4a1e))
		src := genRuleset(r)
		fs := genFlows(r)
		frames := make([][]byte, perRuleset)
		for i := range frames {
			frames[i] = genPacket(r, fs)
		}
		n, br := diffRun(t, src, frames)
		total += n
		byRule += br
	}
	t.Logf("differential: %d rulesets × %d packets = %d verdicts compared (%d decided by a rule), 0 disagreements", rulesets, perRuleset, total, byRule)
}

// FuzzEngine draws a ruleset from the seed and runs the fuzzer's bytes,
// as an IP datagram, after a few generated packets through both
// evaluators: no panic, and the same verdict and deciding rule.
func FuzzEngine(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	fs := genFlows(r)
	for i := range 8 {
		f.Add(uint64(i), genPacket(r, fs)) // generated TCP/UDP/ICMP datagrams
	}
	f.Add(uint64(9), []byte{0x45})  // truncated IPv4 header
	f.Add(uint64(10), []byte{0x60}) // truncated IPv6 header
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		r := rand.New(rand.NewPCG(seed, 0x4a1e))
		src := genRuleset(r)
		fs := genFlows(r)
		frames := [][]byte{genPacket(r, fs), genPacket(r, fs), data}
		diffRun(t, src, frames)
	})
}
