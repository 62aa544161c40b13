package afpacket

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hare-fw/hare/datapath"
	"golang.org/x/sys/unix"
)

// running is a bridge with its workers.
type running struct {
	br *Bridge
	wg sync.WaitGroup
}

// decider decides one packet; it may call port.Inject.
type decider func(port datapath.Port, p *datapath.Packet)

// rings are the receive ring kinds every bridge test runs over.
var rings = []Ring{RingV3, RingV2}

// forRings runs test once per ring kind, as subtests named v3 and v2.
func forRings(t *testing.T, test func(t *testing.T, ring Ring)) {
	for _, ring := range rings {
		t.Run(ring.String(), func(t *testing.T) { test(t, ring) })
	}
}

// startBridge opens a bridge b0<->b1 with ring in the bridge namespace
// and runs one worker per Port with decide.
func startBridge(t testing.TB, ring Ring, workers int, decide decider) *running {
	t.Helper()
	tp := needTopology(t)
	c := DefaultConfig("b0", "b1")
	c.Workers = workers
	c.Ring = ring
	var err error
	r := &running{}
	inNetns(t, tp.bridge, func() { r.br, err = Open(c) })
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range r.br.Ports() {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			var b datapath.Batch
			for {
				if err := port.Read(&b); err != nil {
					if !errors.Is(err, datapath.ErrClosed) {
						t.Error(err)
					}
					return
				}
				for i := range b.Pkts {
					decide(port, &b.Pkts[i])
				}
				if err := port.Done(&b); err != nil {
					return
				}
			}
		}()
	}
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.br.Close()
	r.wg.Wait()
}

func (r *running) stats() (s datapath.PortStats) {
	for _, p := range r.br.Ports() {
		ps := p.Stats()
		s.Received += ps.Received
		s.Accepted += ps.Accepted
		s.Dropped += ps.Dropped
		s.Injected += ps.Injected
		s.Passed += ps.Passed
		s.KernelDrops += ps.KernelDrops
		s.Errors += ps.Errors
	}
	return s
}

// udpDport returns the UDP destination port of an unfragmented datagram
// or the first fragment, or -1.
func udpDport(p *datapath.Packet) int {
	ip := p.Data[p.L3:]
	switch {
	case p.EtherType == etherIPv4 && len(ip) >= 20:
		ihl := int(ip[0]&15) * 4
		if ip[9] != 17 || binary.BigEndian.Uint16(ip[6:])&0x1fff != 0 || len(ip) < ihl+4 {
			return -1
		}
		return int(binary.BigEndian.Uint16(ip[ihl+2:]))
	case p.EtherType == etherIPv6 && len(ip) >= 44 && ip[6] == 17:
		return int(binary.BigEndian.Uint16(ip[42:]))
	}
	return -1
}

// dropDiscard accepts everything but UDP to port 9 (discard).
func dropDiscard(_ datapath.Port, p *datapath.Packet) {
	p.Verdict = datapath.Accept
	if udpDport(p) == 9 {
		p.Verdict = datapath.Drop
	}
}

func TestPing(t *testing.T) { forRings(t, testPing) }

func testPing(t *testing.T, ring Ring) {
	tp := needTopology(t)
	// Each ring kind's run starts with empty neighbour caches, so that
	// ARP (passed without a verdict) crosses this bridge too.
	for _, ns := range []string{tp.client, tp.server} {
		if err := run("ip", "-n", ns, "neigh", "flush", "all"); err != nil {
			t.Fatal(err)
		}
	}
	r := startBridge(t, ring, 2, dropDiscard)
	for _, c := range []struct{ ns, dst string }{
		{tp.client, serverIP4}, {tp.server, clientIP4},
		{tp.client, serverIP6}, {tp.server, clientIP6},
	} {
		if err := nsRun(c.ns, "ping", "-c", "2", "-i", "0.2", "-W", "5", c.dst); err != nil {
			t.Errorf("ping from %s: %v", c.ns, err)
		}
	}
	s := r.stats()
	t.Logf("%+v", s)
	if s.Passed == 0 {
		t.Errorf("no frame passed without a verdict (ARP): %+v", s)
	}
	if s.Accepted < 16 {
		t.Errorf("accepted %d, want at least the 16 echo requests and replies: %+v", s.Accepted, s)
	}
}

// listen opens a listener in ns.
func listen(t *testing.T, ns, network, addr string) (l net.Listener, pc net.PacketConn) {
	t.Helper()
	var err error
	inNetns(t, ns, func() {
		if strings.HasPrefix(network, "tcp") {
			l, err = net.Listen(network, addr)
		} else {
			pc, err = net.ListenPacket(network, addr)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, pc
}

func dial(t *testing.T, ns, network, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	inNetns(t, ns, func() { c, err = net.DialTimeout(network, addr, 10*time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTCPStream(t *testing.T) { forRings(t, testTCPStream) }

func testTCPStream(t *testing.T, ring Ring) {
	tp := needTopology(t)
	var gso atomic.Int64
	r := startBridge(t, ring, 2, func(port datapath.Port, p *datapath.Packet) {
		if len(p.Data) > 1514 {
			gso.Add(1)
		}
		dropDiscard(port, p)
	})
	for _, server := range []string{serverIP4, "[" + serverIP6 + "]"} {
		l, _ := listen(t, tp.server, "tcp", server+":5000")
		got := make(chan [32]byte, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				got <- [32]byte{}
				return
			}
			h := sha256.New()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			_, _ = io.Copy(h, c)
			c.Close()
			got <- [32]byte(h.Sum(nil))
		}()
		data := make([]byte, 8<<20)
		_, _ = rand.Read(data)
		c := dial(t, tp.client, "tcp", server+":5000")
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a stalled stream fails, not hangs
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if h := <-got; h != sha256.Sum256(data) {
			t.Errorf("%s: the server received other bytes than the client sent", server)
		}
		l.Close()
	}
	s := r.stats()
	t.Logf("%+v, %d frames longer than the MTU", s, gso.Load())
	if s.Errors != 0 {
		t.Errorf("errors: %+v", s)
	}
	// The client's veth does TCP segmentation offload, so the stream
	// crosses the bridge mostly as GSO frames of up to 64 KiB, which
	// the bridge must hand back to the kernel with their GSO type.
	if gso.Load() == 0 {
		t.Errorf("no frame longer than the MTU: the GSO path was not exercised")
	}
}

// unreachable builds an ICMP port unreachable from the datagram in p (the
// reply a reject with icmp port-unreachable would send), with gopacket.
func unreachable(p *datapath.Packet) []byte {
	ip := p.Data[p.L3:]
	in := gopacket.NewPacket(ip, layers.LayerTypeIPv4, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	out := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: in.DstIP, DstIP: in.SrcIP}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)}
	quote := ip[:min(len(ip), int(in.IHL)*4+8)]
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		out, icmp, gopacket.Payload(quote)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// unreachable6 is unreachable for IPv6 (ICMPv6 port unreachable, RFC 4443 §3.1).
func unreachable6(p *datapath.Packet) []byte {
	ip := p.Data[p.L3:]
	in := gopacket.NewPacket(ip, layers.LayerTypeIPv6, gopacket.Default).Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	out := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: in.DstIP, DstIP: in.SrcIP}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeDestinationUnreachable, layers.ICMPv6CodePortUnreachable)}
	_ = icmp.SetNetworkLayerForChecksum(out)
	body := append(make([]byte, 4), ip...) // 4 unused bytes, then as much of the packet as fits
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		out, icmp, gopacket.Payload(body)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestUDPDropInjectFragments(t *testing.T) { forRings(t, testUDPDropInjectFragments) }

func testUDPDropInjectFragments(t *testing.T, ring Ring) {
	tp := needTopology(t)
	var biggest atomic.Int64
	r := startBridge(t, ring, 2, func(port datapath.Port, p *datapath.Packet) {
		if n := int64(len(p.Data)); n > biggest.Load() {
			biggest.Store(n)
		}
		dropDiscard(port, p)
		if p.Verdict == datapath.Drop {
			build := unreachable
			if p.EtherType == etherIPv6 {
				build = unreachable6
			}
			if err := port.Inject(p, build(p)); err != nil {
				t.Error(err)
			}
		}
	})
	// Listeners on the discard port, so that a datagram let through
	// would be taken in silently, not answered by the server's kernel.
	_, discard := listen(t, tp.server, "udp4", serverIP4+":9")
	defer discard.Close()
	_, discard6 := listen(t, tp.server, "udp6", "["+serverIP6+"]:9")
	defer discard6.Close()
	_, echo := listen(t, tp.server, "udp4", serverIP4+":5001")
	defer echo.Close()

	// Dropped, and answered by Inject: the client's connected socket
	// sees the ICMP error as ECONNREFUSED.
	for _, to := range []string{serverIP4 + ":9", "[" + serverIP6 + "]:9"} {
		c := dial(t, tp.client, "udp", to)
		defer c.Close()
		_, _ = c.Write([]byte("to the discard port"))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 10)); !errors.Is(err, unix.ECONNREFUSED) {
			t.Errorf("%s: client read after a dropped datagram: %v, want ECONNREFUSED from the injected ICMP error", to, err)
		}
	}

	// Passed: a small datagram and one of 4000 bytes, which the client
	// sends in three fragments; the kernel reassembles them before fanout
	// and the bridge fragments again for the 1500-byte MTU of b1.
	c2 := dial(t, tp.client, "udp4", serverIP4+":5001")
	defer c2.Close()
	big := bytes.Repeat([]byte("0123456789abcdef"), 250)
	for _, msg := range [][]byte{[]byte("hello"), big} {
		if _, err := c2.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = echo.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 8192)
		n, _, err := echo.ReadFrom(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Errorf("server got %d bytes (%v), want the %d sent", n, err, len(msg))
		}
	}
	if b := biggest.Load(); b < 4000 {
		t.Errorf("largest frame a worker saw: %d bytes; the 4000-byte datagram was not reassembled", b)
	}

	// Nothing reached the discard ports.
	for _, d := range []net.PacketConn{discard, discard6} {
		_ = d.SetReadDeadline(time.Now())
		if n, _, err := d.ReadFrom(make([]byte, 100)); err == nil {
			t.Errorf("%v received %d bytes of a dropped datagram", d.LocalAddr(), n)
		}
	}
	s := r.stats()
	t.Logf("%+v", s)
	if s.Injected != 2 || s.Dropped < 2 {
		t.Errorf("stats: %+v, want 2 injected and at least 2 dropped", s)
	}
}

// promiscuity returns an interface's promiscuity count (IFLA_PROMISCUITY,
// which counts PACKET_MR_PROMISC memberships; SIOCGIFFLAGS does not show
// them).
func promiscuity(t testing.TB, ns, name string) int {
	out, err := exec.Command("ip", "-n", ns, "-d", "link", "show", name).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show %s: %v: %s", name, err, out)
	}
	f := strings.Fields(string(out))
	for i := range f[:len(f)-1] {
		if f[i] == "promiscuity" {
			n, err := strconv.Atoi(f[i+1])
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("no promiscuity in %s", out)
	return 0
}

func TestClose(t *testing.T) { forRings(t, testClose) }

func testClose(t *testing.T, ring Ring) {
	tp := needTopology(t)
	r := startBridge(t, ring, 3, dropDiscard)
	for _, name := range []string{"b0", "b1"} {
		if n := promiscuity(t, tp.bridge, name); n != 3 {
			t.Errorf("%s: promiscuity %d while bridging with 3 workers, want 3", name, n)
		}
	}
	// The workers are blocked in Read: Close must wake them.
	r.stop()
	var b datapath.Batch
	if err := r.br.Ports()[0].Read(&b); !errors.Is(err, datapath.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	for _, name := range []string{"b0", "b1"} {
		if n := promiscuity(t, tp.bridge, name); n != 0 {
			t.Errorf("%s: promiscuity %d after Close", name, n)
		}
	}
	inNetns(t, tp.bridge, func() {
		lines, err := os.ReadFile("/proc/thread-self/net/packet")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(lines), "\n"); n != 1 {
			t.Errorf("packet sockets left after Close:\n%s", lines)
		}
	})
}

// TestCloseWithBatchOut closes the bridge while its worker holds a batch
// it has read and not handed back: the frames stay readable (Close leaves
// the rings mapped while a batch is out; it unmapped them under the
// worker, which crashed deciding), Done then reports the close, and once
// it has, no packet socket is left.
func TestCloseWithBatchOut(t *testing.T) { forRings(t, testCloseWithBatchOut) }

func testCloseWithBatchOut(t *testing.T, ring Ring) {
	tp := needTopology(t)
	c := DefaultConfig("b0", "b1")
	c.Ring = ring
	var br *Bridge
	var err error
	inNetns(t, tp.bridge, func() { br, err = Open(c) })
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	tx := rawSock(t, tp.client, "c0")
	f := taggedFrame(nil, "batch-out")
	if _, err := unix.Write(tx, f); err != nil {
		t.Fatal(err)
	}
	port := br.Ports()[0]
	var b datapath.Batch
	if err := port.Read(&b); err != nil {
		t.Fatal(err)
	}
	br.Close()
	found := false
	for _, p := range b.Pkts {
		found = found || bytes.Equal(p.Data, f)
	}
	if !found {
		t.Errorf("after Close, the batch read before it does not hold the frame sent")
	}
	if err := port.Done(&b); !errors.Is(err, datapath.ErrClosed) {
		t.Errorf("Done after Close: %v, want ErrClosed", err)
	}
	inNetns(t, tp.bridge, func() {
		lines, err := os.ReadFile("/proc/thread-self/net/packet")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(lines), "\n"); n != 1 {
			t.Errorf("packet sockets left after Close and Done:\n%s", lines)
		}
	})
}
