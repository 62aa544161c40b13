package main

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
	"github.com/hare-fw/hare/ruleset"
)

// ctlRig is a real control server over a real table, event bus and engine,
// on a temporary socket, for `hare ct` and `hare nft`.
type ctlRig struct {
	t     *testing.T
	table *conntrack.Table
	ev    *conntrack.Events
	eng   *engine.Engine
	now   int64
	sock  string
}

func newCtlRig(t *testing.T, settings *conntrack.Settings, rules *ruleset.Ruleset) *ctlRig {
	t.Helper()
	if settings == nil {
		settings = conntrack.DefaultSettings()
	}
	r := &ctlRig{t: t, ev: conntrack.NewEvents(), now: int64(1_700_000_000) * int64(time.Second)}
	r.table = conntrack.NewTable(settings, r.ev)
	if rules == nil {
		rules = &ruleset.Ruleset{}
	}
	comp, err := engine.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	r.eng = engine.New(r.table, comp)
	r.sock = filepath.Join(t.TempDir(), "control.sock")
	srv, err := control.Listen(control.Config{Path: r.sock, Log: slog.New(slog.DiscardHandler)}, control.Backend{
		Table: r.table, Events: r.ev, Engine: r.eng, Now: func() int64 { return r.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return r
}

// ip runs one IP packet through the engine at time r.now.
func (r *ctlRig) ip(b []byte) {
	var p packet.Parsed
	p.DecodeIP(b)
	var res engine.Result
	r.eng.Packet(&p, &engine.Meta{}, r.now, &res)
}

// ct runs `hare ct --socket SOCK args...`.
func (r *ctlRig) ct(args ...string) (int, string, string) {
	r.t.Helper()
	return hare(r.t, append([]string{"ct", "--socket", r.sock}, args...)...)
}

// someFlows: an answered ping 10.0.0.1 -> 10.0.0.2 (id 7), an unanswered
// UDP datagram fd00::1:5353 -> fd00::2:53, and a TCP SYN 10.0.0.1:40000 ->
// 10.0.0.2:22.
func (r *ctlRig) someFlows() {
	c4, s4 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	c6, s6 := netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	r.ip(pt.IPv4(c4, s4, 1, pt.ICMPv4Echo(true, 7, 1, nil)))
	r.ip(pt.IPv4(s4, c4, 1, pt.ICMPv4Echo(false, 7, 1, nil)))
	r.ip(pt.IPv6(c6, s6, 17, pt.UDP(c6, s6, 5353, 53, []byte("q"))))
	r.ip(pt.IPv4(c4, s4, 6, pt.TCP(c4, s4, pt.TCPHeader{SrcPort: 40000, DstPort: 22, Seq: 1, Flags: packet.TCPSyn, Window: 1000}, nil)))
}
