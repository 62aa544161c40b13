package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

func compileString(src string) (*engine.Compiled, error) {
	f, err := ruleset.Parse("test.nft", []byte(src), ruleset.Config{})
	if err != nil {
		return nil, err
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		return nil, err
	}
	return engine.Compile(rs)
}

// TestUnsupported checks that constructs outside the supported subset fail
// compilation with their position, never a partial evaluation.
func TestUnsupported(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"log level audit drop", "unsupported: log level audit"},
		{"limit rate 0/second accept", "test.nft:4:3: limit: rate 0"},
		{"ct helper set \"ftp\"", "test.nft:4:3: unsupported: ct helper set"},
		{"ct timeout set \"t\"", "unsupported: ct timeout set"},
		{"counter name \"nope\"", "counter \"nope\" not found in table inet t"},
		{"ip saddr @blocked drop", "unknown set @blocked"},
		{"tcp dport vmap { 22 : jump nowhere }", "jump to unknown chain nowhere"},
		{"meta skuid 0 accept", "unsupported: selector meta skuid"},
		{"meta secmark set 1", "unsupported: set statement meta secmark"},
		{"ether saddr . tcp dport { 00:11:22:33:44:55 . 22 } accept", "unsupported: selector ether saddr"},
		{"tcp dport 70000 accept", "unsupported value \"70000\""},
		{"notrack", "notrack is only valid in prerouting and output"},
	} {
		// The rule is line 4, column 3.
		src := "table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\t" + tc.rule + "\n\t}\n}\n"
		_, err := compileString(src)
		if err == nil {
			t.Errorf("%q compiled", tc.rule)
			continue
		}
		var ce *engine.Error
		if !errors.As(err, &ce) && !strings.Contains(tc.want, "unsupported") {
			t.Errorf("%q: %v is not an *engine.Error", tc.rule, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %q, want %q", tc.rule, err, tc.want)
		}
	}
}

func TestLoopRefused(t *testing.T) {
	_, err := compileString(`table ip t {
	chain in { type filter hook input priority 0; jump a }
	chain a { jump b }
	chain b { goto a }
}`)
	if err == nil || !strings.Contains(err.Error(), "loop through chain") {
		t.Fatalf("got %v, want a loop error", err)
	}
}

// readCapture decodes every packet of a capture into its own frame.
func readCapture(t testing.TB, path string) [][]byte {
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]byte
	pk := make([]capture.Packet, 1)
	for {
		n, err := r.ReadBatch(pk)
		if n == 1 {
			var p packet.Parsed
			p.Decode(pk[0].Data, pk[0].Link)
			if p.IPVersion != 0 && p.Frag.Kind != packet.FragFirst && p.Frag.Kind != packet.FragLater {
				out = append(out, append([]byte(nil), p.IP()...))
			}
		}
		if err != nil {
			return out
		}
	}
}

const benchRuleset = `table inet raw {
	chain pre {
		type filter hook prerouting priority raw;
		udp dport 123 notrack
	}
}
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state invalid counter drop
		ct state established,related counter accept
		iifname "lo" accept
		meta l4proto icmp icmp type { echo-request, destination-unreachable, time-exceeded } counter accept
		meta l4proto ipv6-icmp icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, packet-too-big } accept
		ip saddr { 10.0.0.0/8, 192.168.0.0/16 } tcp dport 22 counter accept
		ip6 saddr fe80::/10 udp dport 546 accept
		tcp dport { 80, 443, 8080-8090 } tcp flags syn counter jump web
		udp dport 53 ip saddr 10.0.0.0/8 accept
		udp dport 67-68 accept
		tcp dport 25 ct status assured accept
		ip daddr 224.0.0.0/4 drop
		ip6 daddr ff00::/8 drop
		meta mark 0x1 accept
		tcp flags & (fin|syn|rst|ack) == fin counter drop
		ip protocol gre accept
		ip6 nexthdr esp accept
		meta nfproto ipv6 jump v6
		udp sport 1024-65535 udp dport 1024-65535 counter accept
		counter
	}
	chain web {
		ip saddr 203.0.113.0/24 drop
		counter accept
	}
	chain v6 {
		ip6 saddr 2001:db8::/32 accept
		return
	}
}
`

func benchPackets(t testing.TB) [][]byte {
	var out [][]byte
	for _, p := range []string{
		"../testdata/scenarios/tcp_fin-close_each-side.pcapng",
		"../../shared/testdata/pcaps/ftp_ipv4_passive-pasv_download.pcap",
		"../../shared/testdata/pcaps/icmpv6_traceroute6_timeexceeded_portunreach_nd.pcap",
	} {
		out = append(out, readCapture(t, p)...)
	}
	if len(out) == 0 {
		t.Fatal("no packets")
	}
	return out
}

func TestNoAllocs(t *testing.T) {
	c, err := compileString(benchRuleset)
	if err != nil {
		t.Fatal(err)
	}
	frames := benchPackets(t)
	ct := conntrack.NewTable(conntrack.DefaultSettings(), nil)
	eng := engine.New(ct, c)
	var (
		p   packet.Parsed
		res engine.Result
		m   = engine.Meta{Iifname: engine.IfName("eth0")}
	)
	run := func() {
		for _, f := range frames {
			p.DecodeIP(f)
			eng.Packet(&p, &m, 1, &res)
		}
	}
	run() // entries are created once; their table memory is not per packet
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Fatalf("%v allocations per run of %d packets, want 0", n, len(frames))
	}
}

// BenchmarkTrack is conntrack alone (Process), the baseline for
// BenchmarkEngine over the same packets.
func BenchmarkTrack(b *testing.B) {
	frames := benchPackets(b)
	ct := conntrack.NewTable(conntrack.DefaultSettings(), nil)
	var (
		p   packet.Parsed
		res conntrack.Result
	)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.DecodeIP(frames[i%len(frames)])
		ct.Process(&p, 0, 1, &res)
	}
}

// benchEngine runs the benchmark packets through the pipeline with c.
func benchEngine(b *testing.B, c *engine.Compiled) {
	b.Helper()
	frames := benchPackets(b)
	ct := conntrack.NewTable(conntrack.DefaultSettings(), nil)
	eng := engine.New(ct, c)
	var (
		p   packet.Parsed
		res engine.Result
		m   = engine.Meta{Iifname: engine.IfName("eth0")}
	)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.DecodeIP(frames[i%len(frames)])
		eng.Packet(&p, &m, 1, &res)
	}
}

// BenchmarkEngine is the ~20-rule benchRuleset over conntrack.
func BenchmarkEngine(b *testing.B) {
	c, err := compileString(benchRuleset)
	if err != nil {
		b.Fatal(err)
	}
	benchEngine(b, c)
}

// ruleset200 is a realistic ~200-rule host ruleset with named sets: the
// usual ct state rules first, then per-service rules for IPv4 and IPv6
// clients in sets, per-host exceptions and ICMP rules.
func ruleset200() string {
	var b strings.Builder
	b.WriteString(`table inet filter {
	set trusted4 { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } }
	set trusted6 { type ipv6_addr; flags interval; elements = { 2001:db8::/32, fe80::/10 } }
	set blocked4 { type ipv4_addr; elements = { 192.0.2.1, 192.0.2.2, 198.51.100.7, 203.0.113.9 } }
	set web { type inet_service; elements = { 80, 443, 8080, 8443 } }
	chain input {
		type filter hook input priority filter; policy drop;
		ip saddr @blocked4 counter drop
		ct state invalid counter drop
		ct state established,related counter accept
		iifname "lo" accept
		tcp dport @web counter accept
`)
	for i := range 190 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "\t\tip saddr @trusted4 tcp dport %d counter accept\n", 1000+i)
		case 1:
			fmt.Fprintf(&b, "\t\tip6 saddr @trusted6 udp dport %d counter accept\n", 2000+i)
		case 2:
			fmt.Fprintf(&b, "\t\tip saddr 10.%d.0.0/16 udp dport %d drop\n", i, 3000+i)
		case 3:
			fmt.Fprintf(&b, "\t\ticmpv6 type { echo-request, nd-neighbor-solicit } ip6 saddr 2001:db8:%x::/48 accept\n", i)
		default:
			fmt.Fprintf(&b, "\t\tmeta mark %d tcp dport %d accept\n", i, 4000+i)
		}
	}
	b.WriteString("\t\tcounter\n\t}\n}\n")
	return b.String()
}

// BenchmarkEngine200 is ruleset200 over conntrack; compare with
// BenchmarkTrack.
func BenchmarkEngine200(b *testing.B) {
	c, err := compileString(ruleset200())
	if err != nil {
		b.Fatal(err)
	}
	benchEngine(b, c)
}

// BenchmarkTrack200 is the tracker alone doing exactly the conntrack work
// of BenchmarkEngine200: Track on every packet, Confirm only where the
// 200-rule ruleset accepted it (a packet the policy drops is never
// confirmed, so its next copy is looked up and tracked as new again).
// BenchmarkEngine200 minus this is the cost of rule evaluation alone;
// BenchmarkTrack, which confirms everything, would flatter the engine's
// figure by charging it the tracker's extra new-flow work.
func BenchmarkTrack200(b *testing.B) {
	c, err := compileString(ruleset200())
	if err != nil {
		b.Fatal(err)
	}
	frames := benchPackets(b)
	accepted := make([]bool, len(frames))
	{
		eng := engine.New(conntrack.NewTable(conntrack.DefaultSettings(), nil), c)
		var (
			p   packet.Parsed
			res engine.Result
			m   = engine.Meta{Iifname: engine.IfName("eth0")}
		)
		// Two rounds: the second sees the steady state the benchmark loop
		// does (flows opened in the first).
		for range 2 {
			for i, f := range frames {
				p.DecodeIP(f)
				eng.Packet(&p, &m, 1, &res)
				accepted[i] = res.Verdict == engine.Accept && !res.Untracked
			}
		}
	}
	ct := conntrack.NewTable(conntrack.DefaultSettings(), nil)
	var (
		p   packet.Parsed
		res conntrack.Result
	)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i % len(frames)
		p.DecodeIP(frames[k])
		ct.Track(&p, 0, 1, &res)
		if accepted[k] {
			ct.Confirm(&res, 1)
		}
	}
}
