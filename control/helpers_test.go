package control

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
	"github.com/hare-fw/hare/ruleset"
)

// rig is a real server on a temporary socket over a real table, event
// bus and engine, and a client of it.
type rig struct {
	t     testing.TB
	table *conntrack.Table
	ev    *conntrack.Events
	eng   *engine.Engine
	srv   *Server
	c     *Client
	now   int64
	trace *TraceHub
}

const t0 = int64(1_700_000_000) * int64(time.Second)

func newRig(t testing.TB, rules string) *rig {
	t.Helper()
	r := &rig{t: t, ev: conntrack.NewEvents(), now: t0, trace: NewTraceHub()}
	r.table = conntrack.NewTable(conntrack.DefaultSettings(), r.ev)
	var comp *engine.Compiled
	if rules != "" {
		f, err := ruleset.Parse("rules.nft", []byte(rules), ruleset.Config{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := ruleset.Build(f)
		if err != nil {
			t.Fatal(err)
		}
		if comp, err = engine.Compile(rs); err != nil {
			t.Fatal(err)
		}
	} else {
		comp, _ = engine.Compile(&ruleset.Ruleset{})
	}
	r.eng = engine.New(r.table, comp)
	path := filepath.Join(t.TempDir(), "control.sock")
	srv, err := Listen(Config{Path: path, Log: slog.New(slog.DiscardHandler)}, Backend{
		Table: r.table, Events: r.ev, Engine: r.eng, Trace: r.trace,
		Now: func() int64 { return r.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	r.c = NewClient(path)
	return r
}

// packet runs one IP packet through the engine (and so the table).
func (r *rig) packet(b []byte) engine.Result {
	var p packet.Parsed
	p.DecodeIP(b)
	var res engine.Result
	r.now += int64(time.Millisecond)
	r.eng.Packet(&p, &engine.Meta{}, r.now, &res)
	return res
}

var (
	c4 = netip.MustParseAddr("10.0.0.1")
	s4 = netip.MustParseAddr("10.0.0.2")
	c6 = netip.MustParseAddr("fd00::1")
	s6 = netip.MustParseAddr("fd00::2")
)

// flows puts four connections in the table: an established TCP
// connection 10.0.0.1:40000 -> 10.0.0.2:22, a UDP datagram fd00::1:5353 ->
// fd00::2:53 without reply, an answered ping 10.0.0.1 -> 10.0.0.2 (id 7),
// and an established TCP connection fd00::1:40001 -> fd00::2:80.
func (r *rig) flows() {
	tcp := func(src, dst netip.Addr, sp, dp uint16) {
		ip := func(a, b netip.Addr, seg []byte) []byte {
			if a.Is4() {
				return pt.IPv4(a, b, 6, seg)
			}
			return pt.IPv6(a, b, 6, seg)
		}
		r.packet(ip(src, dst, pt.TCP(src, dst, pt.TCPHeader{SrcPort: sp, DstPort: dp, Seq: 100, Flags: packet.TCPSyn, Window: 65535}, nil)))
		r.packet(ip(dst, src, pt.TCP(dst, src, pt.TCPHeader{SrcPort: dp, DstPort: sp, Seq: 500, Ack: 101, Flags: packet.TCPSyn | packet.TCPAck, Window: 65535}, nil)))
		r.packet(ip(src, dst, pt.TCP(src, dst, pt.TCPHeader{SrcPort: sp, DstPort: dp, Seq: 101, Ack: 501, Flags: packet.TCPAck, Window: 65535}, nil)))
	}
	tcp(c4, s4, 40000, 22)
	r.packet(pt.IPv6(c6, s6, 17, pt.UDP(c6, s6, 5353, 53, []byte("q"))))
	r.packet(pt.IPv4(c4, s4, 1, pt.ICMPv4Echo(true, 7, 1, nil)))
	r.packet(pt.IPv4(s4, c4, 1, pt.ICMPv4Echo(false, 7, 1, nil)))
	tcp(c6, s6, 40001, 80)
}

// list returns the lines of a listing.
func (r *rig) list(f Filter, o TextOptions) []string {
	r.t.Helper()
	var out []string
	if err := r.c.List(context.Background(), &f, o, func(l string) error { out = append(out, l); return nil }); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// flowName names a line by the flow of flows it shows.
func flowName(line string) string {
	switch {
	case strings.Contains(line, "dport=22 "):
		return "tcp4"
	case strings.Contains(line, "dport=53 "):
		return "udp6"
	case strings.Contains(line, "type=8 "):
		return "icmp4"
	case strings.Contains(line, "dport=80 "):
		return "tcp6"
	}
	return "?" + line
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
