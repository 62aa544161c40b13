package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// memPort is a datapath.Port over packets held in memory: the test double
// through which real captures are fed to workers. Each Read hands out the
// next per packets and moves the clock to the first one's capture time
// (never backwards, as the replay's clock); Done records the verdicts;
// once every packet is decided Read waits for Close.
type memPort struct {
	pkts     []datapath.Packet
	times    []int64
	per      int
	next     int
	clock    *atomic.Int64
	verdicts []datapath.Verdict
	marks    []int64 // -1: no SetMark
	injected []injection
	// forwarded are the packets Forward sent, in order: held fragments
	// of a datagram accepted later (fraghold.go).
	forwarded []forwarding
	forgotten []int         // handles of held packets dropped (Forget)
	holdMax   int           // HoldMax (-1 by default: no bound)
	dones     int           // batches handed back
	loop      bool          // start over after the last packet (allocation test)
	gate      chan struct{} // when not nil, Read waits for it to close
	failN     int           // Read fails this many times first
	drained   chan struct{}
	closed    chan struct{}
	once      sync.Once
	stats     datapath.PortStats
}

type forwarding struct {
	handle int    // the packet's index
	batch  int    // the batch during which it was sent (dones so far)
	data   []byte // its bytes as sent
}

type injection struct {
	after int // index of the packet that caused it
	ip    []byte
}

func newMemPort(pkts []datapath.Packet, times []int64, per int) *memPort {
	m := &memPort{pkts: pkts, times: times, per: per, clock: new(atomic.Int64),
		verdicts: make([]datapath.Verdict, len(pkts)), marks: make([]int64, len(pkts)),
		drained: make(chan struct{}), closed: make(chan struct{}), holdMax: -1}
	for i := range m.marks {
		m.marks[i] = -1
	}
	return m
}

func (m *memPort) Read(b *datapath.Batch) error {
	if m.failN > 0 {
		m.failN--
		return errors.New("boom")
	}
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-m.closed:
			return datapath.ErrClosed
		}
	}
	if m.next >= len(m.pkts) {
		if !m.loop {
			m.once.Do(func() { close(m.drained) })
			<-m.closed
			return datapath.ErrClosed
		}
		m.next = 0
	}
	select {
	case <-m.closed:
		return datapath.ErrClosed
	default:
	}
	n := min(m.per, cap(b.Pkts), len(m.pkts)-m.next)
	b.Pkts = b.Pkts[:n]
	for i := range n {
		b.Pkts[i] = m.pkts[m.next+i]
		b.Pkts[i].Handle = uint64(m.next + i)
	}
	if m.times != nil {
		if ts := m.times[m.next]; ts > m.clock.Load() {
			m.clock.Store(ts)
		}
	}
	m.next += n
	m.stats.Received += uint64(n)
	return nil
}

func (m *memPort) Done(b *datapath.Batch) error {
	for i := range b.Pkts {
		pk := &b.Pkts[i]
		if pk.Verdict == datapath.Stolen && m.verdicts[pk.Handle] == datapath.Accept {
			continue // held and forwarded within the batch
		}
		m.verdicts[pk.Handle] = pk.Verdict
		if pk.SetMark {
			m.marks[pk.Handle] = int64(pk.NewMark)
		}
	}
	m.dones++
	return nil
}

// Forget records pk, a held packet dropped.
func (m *memPort) Forget(pk *datapath.Packet) {
	if !m.loop {
		m.forgotten = append(m.forgotten, int(pk.Handle))
	}
}

func (m *memPort) HoldMax() int { return m.holdMax }

// Forward records pk (a held fragment) as accepted, and what was sent.
func (m *memPort) Forward(pk *datapath.Packet) error {
	if m.loop {
		return nil // the allocation test keeps nothing
	}
	m.verdicts[pk.Handle] = datapath.Accept
	if pk.SetMark {
		m.marks[pk.Handle] = int64(pk.NewMark)
	}
	m.forwarded = append(m.forwarded, forwarding{int(pk.Handle), m.dones, append([]byte(nil), pk.Data...)})
	return nil
}

func (m *memPort) Inject(to *datapath.Packet, ip []byte) error {
	if m.loop {
		return nil // the allocation test keeps nothing
	}
	m.injected = append(m.injected, injection{int(to.Handle), append([]byte(nil), ip...)})
	return nil
}

func (m *memPort) Stats() datapath.PortStats { return m.stats }

// plainPort is a memPort that is no datapath.Forwarder: a port on which a
// worker cannot hold fragments.
type plainPort struct{ m *memPort }

func (p plainPort) Read(b *datapath.Batch) error                { return p.m.Read(b) }
func (p plainPort) Done(b *datapath.Batch) error                { return p.m.Done(b) }
func (p plainPort) Inject(to *datapath.Packet, ip []byte) error { return p.m.Inject(to, ip) }
func (p plainPort) Stats() datapath.PortStats                   { return p.m.Stats() }

func (m *memPort) close() { close(m.closed) }

// memDatapath is a datapath of memPorts.
type memDatapath struct {
	ports  []*memPort
	closed bool
	pass   []string // SetPass calls, as "arp=A nonip=N"
}

// SetPass records the call (afpacket.Bridge.SetPass's signature).
func (d *memDatapath) SetPass(arp, nonIP bool) {
	d.pass = append(d.pass, fmt.Sprintf("arp=%v nonip=%v", arp, nonIP))
}

func (d *memDatapath) Name() string { return "memory" }

func (d *memDatapath) Ports() []datapath.Port {
	out := make([]datapath.Port, len(d.ports))
	for i, p := range d.ports {
		out[i] = p
	}
	return out
}

func (d *memDatapath) Close() error {
	if d.closed {
		return errors.New("closed twice")
	}
	d.closed = true
	for _, p := range d.ports {
		p.close()
	}
	return nil
}

func (d *memDatapath) opener() Opener {
	return func(*Config, *slog.Logger) (datapath.Datapath, error) { return d, nil }
}

// readCapture loads a capture as NFQUEUE would hand its packets over: the
// IP packet alone (LinkIP), taken on the input hook from interface
// engine.ReplayIfindex (the kernel oracle's kor0, see oracleDevices); a
// frame without an IP header has L3 -1.
func readCapture(t testing.TB, path string) (pkts []datapath.Packet, times []int64) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]capture.Packet, 64)
	var p packet.Parsed
	for {
		n, err := r.ReadBatch(buf)
		for _, cp := range buf[:n] {
			p.Decode(cp.Data, cp.Link)
			pk := datapath.Packet{Link: datapath.LinkIP, Hook: datapath.HookInput, InIf: engine.ReplayIfindex, L3: -1}
			if p.IPVersion != 0 {
				pk.Data = append([]byte(nil), cp.Data[p.L3Off:]...)
				pk.L3 = 0
			} else {
				pk.Data = append([]byte(nil), cp.Data...)
			}
			pkts = append(pkts, pk)
			times = append(times, cp.Time)
		}
		if err != nil {
			var lte *capture.LinkTypeError
			if errors.As(err, &lte) {
				// The replay numbers it and calls it not-ip.
				pkts = append(pkts, datapath.Packet{L3: -1})
				var ts int64
				if len(times) > 0 {
					ts = times[len(times)-1]
				}
				times = append(times, ts)
				continue
			}
			break
		}
		if n == 0 {
			break
		}
	}
	return pkts, times
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
