package engine_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// outputRules has a chain on every hook a locally generated packet takes
// (output before and after conntrack, postrouting) and an input chain for
// the replies, which lets only established traffic in.
const outputRules = `table inet t {
	chain raw {
		type filter hook output priority raw; policy accept;
		udp dport 53 notrack
	}
	chain out {
		type filter hook output priority filter; policy accept;
		oifname "eth1" tcp dport 23 drop
		iifname "eth0" tcp dport 24 drop
		meta pkttype multicast udp dport 5353 drop
		ct state untracked udp dport 53 accept
	}
	chain post {
		type filter hook postrouting priority filter; policy accept;
		tcp dport 8080 drop
		oifname != "eth0" tcp dport 81 drop
	}
	chain in {
		type filter hook input priority filter; policy drop;
		ct state established accept
	}
}
`

var (
	here  = netip.MustParseAddr("192.0.2.1")
	there = netip.MustParseAddr("198.51.100.7")
)

func outSeg(src, dst netip.Addr, sp, dp uint16, flags packet.TCPFlags, seq, ack uint32) []byte {
	return pt.IPv4(src, dst, pt.ProtoTCP, pt.TCP(src, dst, pt.TCPHeader{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: flags, Window: 1000}, nil))
}

// TestOutputPath checks, case by case, the path Linux gives a locally
// generated packet (ip_local_out, then ip_output): output chains, conntrack
// between them at LOCAL_OUT, postrouting, and the entry confirmed only
// once postrouting accepted it; no input device on that path, the route's
// output device, and PACKET_HOST.
func TestOutputPath(t *testing.T) {
	r := newStmtRig(t, outputRules)
	out := func(frame []byte, oif string) *engine.Result {
		t.Helper()
		r.meta = engine.Meta{Output: true, Oifname: engine.IfName(oif)}
		r.run(frame, 1e9)
		return &r.res
	}

	// A SYN out, its SYN/ACK in: conntrack is shared by both paths, so the
	// reply is established and the input chain lets it in.
	if res := out(outSeg(here, there, 40000, 80, packet.TCPSyn, 1, 0), "eth0"); res.Verdict != engine.Accept ||
		res.CT.State != conntrack.StateNew || r.ct.Len() != 1 {
		t.Fatalf("SYN out: %v %v, %d entries", res.Verdict, res.CT.State, r.ct.Len())
	}
	r.meta = engine.Meta{Iifname: engine.IfName("eth0")}
	if v := r.run(outSeg(there, here, 80, 40000, packet.TCPSyn|packet.TCPAck, 500, 2), 2e9); v != engine.Accept ||
		r.res.CT.State != conntrack.StateEstablished || r.res.CT.Dir != conntrack.DirReply {
		t.Fatalf("SYN/ACK in: %v %v %v", v, r.res.CT.State, r.res.CT.Dir)
	}

	// Dropped on postrouting: never confirmed (nf_conntrack_confirm runs
	// after the postrouting filter), so the table is unchanged.
	if res := out(outSeg(here, there, 40001, 8080, packet.TCPSyn, 1, 0), "eth0"); res.Verdict != engine.Drop ||
		res.Hook != engine.HookPostrouting || r.ct.Len() != 1 {
		t.Fatalf("SYN to 8080: %v on %v, %d entries", res.Verdict, res.Hook, r.ct.Len())
	}
	// notrack in the raw output chain: untracked, no entry.
	udp := func(dst netip.Addr, dp uint16) []byte {
		return pt.IPv4(here, dst, pt.ProtoUDP, pt.UDP(here, dst, 5000, dp, []byte("q")))
	}
	if res := out(udp(there, 53), "eth0"); res.Verdict != engine.Accept || !res.Untracked || r.ct.Len() != 1 {
		t.Fatalf("DNS query: %v untracked=%v, %d entries", res.Verdict, res.Untracked, r.ct.Len())
	}
	// The output device is the route's, on output and postrouting.
	if res := out(outSeg(here, there, 40002, 23, packet.TCPSyn, 1, 0), "eth1"); res.Verdict != engine.Drop || res.Hook != engine.HookOutput {
		t.Fatalf("telnet out of eth1: %v on %v", res.Verdict, res.Hook)
	}
	if res := out(outSeg(here, there, 40003, 23, packet.TCPSyn, 1, 0), "eth0"); res.Verdict != engine.Accept {
		t.Fatalf("telnet out of eth0: %v", res.Verdict)
	}
	if res := out(outSeg(here, there, 40004, 81, packet.TCPSyn, 1, 0), "eth1"); res.Verdict != engine.Drop || res.Hook != engine.HookPostrouting {
		t.Fatalf("port 81 out of eth1: %v on %v", res.Verdict, res.Hook)
	}
	// No input device, whatever Meta.Iifname says.
	r.meta = engine.Meta{Output: true, Oifname: engine.IfName("eth0"), Iifname: engine.IfName("eth0")}
	if r.run(outSeg(here, there, 40005, 24, packet.TCPSyn, 1, 0), 1e9) != engine.Accept {
		t.Fatal("iifname matched a locally generated packet")
	}
	// A local packet to a multicast group is PACKET_HOST, not multicast.
	if res := out(udp(netip.MustParseAddr("224.0.0.251"), 5353), "eth0"); res.Verdict != engine.Accept {
		t.Fatalf("mDNS out: %v", res.Verdict)
	}
	// ct state is known in the output filter chain (conntrack ran before).
	if res := out(outSeg(here, there, 40006, 25, packet.TCPSyn, 1, 0), "eth0"); res.Verdict != engine.Accept || res.CT.State != conntrack.StateNew {
		t.Fatalf("SMTP out: %v %v", res.Verdict, res.CT.State)
	}
}

// TestOutputIiftype: nft reads meta iiftype from skb->dev, which a local
// packet has only on postrouting (testdata/output/kernel.txt: `meta
// iiftype ether` counted 0 on output and every packet on postrouting).
func TestOutputIiftype(t *testing.T) {
	r := newStmtRig(t, `table ip t {
	chain o {
		type filter hook output priority 0;
		meta iiftype 65534 counter
	}
	chain p {
		type filter hook postrouting priority 0;
		meta iiftype 65534 counter
	}
}
`)
	r.meta = engine.Meta{Output: true, Oifname: engine.IfName("eth0")}
	r.run(outSeg(here, there, 40000, 80, packet.TCPSyn, 1, 0), 1e9)
	c := r.c.Counters()
	if len(c) != 2 || c[0].Packets != 0 || c[1].Packets != 1 {
		t.Fatalf("counters %+v, want 0 on output and 1 on postrouting", c)
	}
}

// TestOutputFibRefused: fib is not modelled for locally generated packets.
func TestOutputFibRefused(t *testing.T) {
	src := "table inet t {\n\tchain o {\n\t\ttype filter hook output priority 0;\n\t\tfib daddr type local accept\n\t}\n}\n"
	if _, err := compileString(src); err == nil || !strings.Contains(err.Error(), "test.nft:4:3: unsupported: fib in an output chain") {
		t.Fatalf("fib in output: %v", err)
	}
}

// TestOutputLog: a log statement on the output path prints the output
// device and no input device or MAC header (nf_log_dump_packet_common,
// nf_log_ip_packet dumps the MAC header only with an input device).
func TestOutputLog(t *testing.T) {
	r := newStmtRig(t, "table ip t {\n\tchain o {\n\t\ttype filter hook output priority 0;\n\t\tlog prefix \"out: \"\n\t}\n}\n")
	var line string
	r.eng.SetLogSink(func(ev *engine.LogEvent) { line = string(ev.AppendText(nil)) })
	r.meta = engine.Meta{Output: true, Oifname: engine.IfName("eth0"), Iifname: engine.IfName("eth9")}
	r.run(outSeg(here, there, 40000, 80, packet.TCPSyn, 1, 0), 1e9)
	if want := "out: IN= OUT=eth0 SRC=192.0.2.1 DST=198.51.100.7 "; !strings.HasPrefix(line, want) {
		t.Fatalf("log line %q, want it to start %q", line, want)
	}
}

// TestOutputNoAllocs: the output path allocates nothing per packet.
func TestOutputNoAllocs(t *testing.T) {
	r := newStmtRig(t, outputRules)
	frames := [][]byte{
		outSeg(here, there, 40000, 80, packet.TCPSyn, 1, 0),
		outSeg(here, there, 40001, 8080, packet.TCPSyn, 1, 0),
		pt.IPv4(here, there, pt.ProtoUDP, pt.UDP(here, there, 5000, 53, []byte("q"))),
	}
	r.meta = engine.Meta{Output: true, Oifname: engine.IfName("eth0")}
	run := func() {
		for _, f := range frames {
			r.run(f, 1e9)
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}
