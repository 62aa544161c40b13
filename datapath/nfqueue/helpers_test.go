package nfqueue

import (
	"errors"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// openIn opens a Datapath in namespace ns; Close (registered as a
// cleanup, harmless when the test closed it already) also runs there.
func (tp *topo) openIn(t testing.TB, ns string, c Config) *Datapath {
	t.Helper()
	var d *Datapath
	var err error
	tp.inNS(t, ns, func() { d, err = Open(c) })
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// seen is what a worker saw of one packet.
type seen struct {
	hook          datapath.Hook
	in, out       int
	mark          uint32
	payload       string // UDP payload, or "" for other packets
	proto         packet.IPProto
	version       uint8
	length        int
	frag          packet.Frag
	src, dst      string
	sport, dport  uint16
	tcpFlags      packet.TCPFlags
	decideVerdict datapath.Verdict
}

// worker reads port until the datapath closes, asks decide about every
// packet (it may inject with the port), records what it saw.
type worker struct {
	mu   sync.Mutex
	seen []seen
	done chan struct{}
	err  error
}

func runWorker(p datapath.Port, decide func(p datapath.Port, pk *datapath.Packet, d *packet.Parsed)) *worker {
	w := &worker{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var b datapath.Batch
		var d packet.Parsed
		for {
			if err := p.Read(&b); err != nil {
				if !errors.Is(err, datapath.ErrClosed) {
					w.err = err
				}
				return
			}
			for i := range b.Pkts {
				pk := &b.Pkts[i]
				d.DecodeIP(pk.Data)
				pk.Verdict = datapath.Accept
				decide(p, pk, &d)
				s := seen{hook: pk.Hook, in: pk.InIf, out: pk.OutIf, mark: pk.Mark, proto: d.Proto,
					version: d.IPVersion, length: len(pk.Data), frag: d.Frag, sport: d.SrcPort, dport: d.DstPort,
					tcpFlags: d.TCP.Flags, decideVerdict: pk.Verdict}
				if d.IPVersion != 0 {
					s.src, s.dst = d.Src.String(), d.Dst.String()
				}
				if d.Proto == packet.ProtoUDP && d.L4Off != 0 && d.Frag.Kind != packet.FragFirst {
					s.payload = string(pk.Data[d.L4Off+8:])
				}
				w.mu.Lock()
				w.seen = append(w.seen, s)
				w.mu.Unlock()
			}
			if err := p.Done(&b); err != nil {
				if !errors.Is(err, datapath.ErrClosed) {
					w.err = err
				}
				return
			}
		}
	}()
	return w
}

func (w *worker) snapshot() []seen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]seen(nil), w.seen...)
}

// udpServer listens in ns and collects what arrives.
type udpServer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []string
}

func (tp *topo) udpServer(t testing.TB, ns, addr string) *udpServer {
	t.Helper()
	u := &udpServer{}
	tp.inNS(t, ns, func() {
		a, err := net.ResolveUDPAddr("udp", addr)
		if err == nil {
			u.conn, err = net.ListenUDP("udp", a)
		}
		if err != nil {
			t.Errorf("listen %s in %s: %v", addr, ns, err)
		}
	})
	if u.conn == nil {
		t.FailNow()
	}
	t.Cleanup(func() { u.conn.Close() })
	go func() {
		buf := make([]byte, 70000)
		for {
			n, err := u.conn.Read(buf)
			if err != nil {
				return
			}
			u.mu.Lock()
			u.got = append(u.got, string(buf[:n]))
			u.mu.Unlock()
		}
	}()
	return u
}

// waitFor polls cond until it holds or the wait (not a measurement: only
// a bound on a hung test) runs out.
func waitFor(cond func() bool) bool {
	for i := 0; i < 100; i++ {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func (u *udpServer) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.got...)
}

// sendUDP sends each payload from ns to addr, one datagram each.
func (tp *topo) sendUDP(t testing.TB, ns, addr string, payloads ...string) {
	t.Helper()
	tp.inNS(t, ns, func() {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Errorf("dial %s: %v", addr, err)
			return
		}
		defer c.Close()
		for _, p := range payloads {
			if _, err := c.Write([]byte(p)); err != nil {
				t.Errorf("send: %v", err)
			}
		}
	})
}

var counterRe = regexp.MustCompile(`counter packets (\d+)`)

// nftCounter reads the first counter of chain in ns.
func nftCounter(t testing.TB, ns, family, table, chain string) int {
	t.Helper()
	out := sh(t, ns, "nft", "list", "chain", family, table, chain)
	m := counterRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no counter in\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func ruleset(t testing.TB, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-s", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset: %v\n%s", err, out)
	}
	return string(out)
}

// deadline bounds a read that waits for a reply (not a measurement).
func deadline() time.Time { return time.Now().Add(3 * time.Second) }
