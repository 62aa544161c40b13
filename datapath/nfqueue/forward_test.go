package nfqueue

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// TestForwardInject queues f's forward and output hooks. Forwarded UDP
// to s port 7000 is accepted (it arrives, with both interfaces in the
// metadata); TCP SYNs to s port 7001 are dropped and answered with the
// reset engine.BuildReject makes, UDP to s port 7002 with an ICMP port
// unreachable; the client's sockets must see the refusals (the kernel
// routed the injected packets back to c) and hare must never be asked
// about its own injected packets on output. IPv4 and IPv6.
func TestForwardInject(t *testing.T) {
	tp := newTopo(t)
	before := ruleset(t, tp.f)
	d := tp.openIn(t, tp.f, Config{Queues: "0-1", Hooks: []datapath.Hook{datapath.HookForward, datapath.HookOutput},
		InstallRules: true, Notrack: true, FailOpen: true})
	if got := d.Name(); got != "nfqueue 0-1" {
		t.Errorf("Name() = %q", got)
	}
	decide := func(p datapath.Port, pk *datapath.Packet, pp *packet.Parsed) {
		var how engine.RejectKind
		switch {
		case pp.Proto == packet.ProtoTCP && pp.DstPort == 7001:
			how = engine.RejectKind{With: engine.RejectTCPReset}
		case pp.Proto == packet.ProtoUDP && pp.DstPort == 7002:
			how = engine.RejectKind{With: engine.RejectICMPx, Code: engine.IcmpxPortUnreachable}
		default:
			return
		}
		pk.Verdict = datapath.Drop
		reply := engine.BuildReject(nil, pp, how)
		if len(reply) == 0 {
			t.Errorf("no reject for %s → %s", pp.Src, pp.Dst)
			return
		}
		if err := p.Inject(pk, reply); err != nil {
			t.Errorf("Inject: %v", err)
		}
	}
	var ws []*worker
	for _, p := range d.Ports() {
		ws = append(ws, runWorker(p, decide))
	}
	for _, fam := range []struct{ name, s, c string }{{"ipv4", "10.77.2.1", "10.77.1.1"}, {"ipv6", "fd77:2::1", "fd77:1::1"}} {
		t.Run(fam.name, func(t *testing.T) {
			srv := tp.udpServer(t, tp.s, net.JoinHostPort(fam.s, "7000"))
			tp.sendUDP(t, tp.c, net.JoinHostPort(fam.s, "7000"), "fwd1", "fwd2")
			if !waitFor(func() bool { return len(srv.received()) == 2 }) {
				t.Errorf("s received %q, want fwd1 fwd2", srv.received())
			}
			var tcpErr, udpErr error
			tp.inNS(t, tp.s, func() {
				// A listener, so that only hare's reset can refuse.
				l, err := net.Listen("tcp", net.JoinHostPort(fam.s, "7001"))
				if err != nil {
					t.Error(err)
					return
				}
				t.Cleanup(func() { l.Close() })
			})
			tp.inNS(t, tp.c, func() {
				c, err := net.DialTimeout("tcp", net.JoinHostPort(fam.s, "7001"), 5*time.Second)
				if err == nil {
					c.Close()
				}
				tcpErr = err
				u, err := net.Dial("udp", net.JoinHostPort(fam.s, "7002"))
				if err != nil {
					udpErr = err
					return
				}
				defer u.Close()
				u.Write([]byte("x"))
				u.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, udpErr = u.Read(make([]byte, 10))
			})
			if !errors.Is(tcpErr, syscall.ECONNREFUSED) {
				t.Errorf("TCP connect through a dropped+reset SYN: %v, want connection refused", tcpErr)
			}
			if !errors.Is(udpErr, syscall.ECONNREFUSED) {
				t.Errorf("UDP read after a dropped+ICMP-answered datagram: %v, want connection refused", udpErr)
			}
			// The client can see the refusal before the worker has
			// noted the packet it injected for.
			var fwd, self int
			var bad string
			count := func() bool {
				fwd, self, bad = 0, 0, ""
				for _, w := range ws {
					for _, s := range w.snapshot() {
						if s.src == fam.c && s.dst == fam.s {
							fwd++
							if s.hook != datapath.HookForward || s.in != tp.fc || s.out != tp.fs {
								bad = fmt.Sprintf("%s → %s: hook %d in %d out %d, want forward(2) in %d out %d", s.src, s.dst, s.hook, s.in, s.out, tp.fc, tp.fs)
							}
						}
						if s.hook == datapath.HookOutput && s.dst == fam.c {
							self++
						}
					}
				}
				return fwd >= 4
			}
			waitFor(count)
			if bad != "" {
				t.Error(bad)
			}
			if fwd < 4 {
				t.Errorf("hare saw %d forwarded packets from %s, want at least 4 (2 UDP, a SYN, a UDP)", fwd, fam.c)
			}
			if self != 0 {
				t.Errorf("hare was asked about %d of its own injected packets on output", self)
			}
		})
	}
	var inj uint64
	waitFor(func() bool {
		inj = 0
		for _, p := range d.Ports() {
			inj += p.Stats().Injected
		}
		return inj == 4
	})
	for _, p := range d.Ports() {
		if st := p.Stats(); st.Errors != 0 {
			t.Errorf("stats %+v", st)
		}
	}
	if inj != 4 {
		t.Errorf("Injected = %d, want 4", inj)
	}
	var cerr error
	tp.inNS(t, tp.f, func() { cerr = d.Close() })
	if cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	for _, w := range ws {
		<-w.done
		if w.err != nil {
			t.Errorf("worker: %v", w.err)
		}
	}
	if after := ruleset(t, tp.f); after != before {
		t.Errorf("ruleset after Close:\n%s\nwant\n%s", after, before)
	}
}
