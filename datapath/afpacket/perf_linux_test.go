package afpacket

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
	"golang.org/x/sys/unix"
)

// flood sends 64-byte Ethernet/IPv4/UDP frames from the client's c0 with a
// packet socket (sendmmsg, 64 frames a call) until stop is closed. The
// frames are addressed to a MAC address nobody has: the bridge forwards
// them (promiscuous), and the server's kernel drops them at once
// (PACKET_OTHERHOST).
func flood(t testing.TB, stop chan struct{}) *sync.WaitGroup {
	t.Helper()
	tp := needTopology(t)
	var fd int
	var err error
	inNetns(t, tp.client, func() {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return
		}
		var ifr *unix.Ifreq
		if ifr, err = unix.NewIfreq("c0"); err != nil {
			return
		}
		if err = unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
			return
		}
		err = unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: int(ifr.Uint32())})
	})
	if err != nil {
		t.Fatal(err)
	}
	f := make([]byte, 64)
	copy(f, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00})
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 50)
	copy(ip[12:], []byte{10, 71, 0, 1, 10, 71, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^packet.ChecksumFold(packet.ChecksumAdd(ip[:20], 0)))
	binary.BigEndian.PutUint16(ip[20:], 40000) // UDP source port
	binary.BigEndian.PutUint16(ip[22:], 5002)
	binary.BigEndian.PutUint16(ip[24:], 30)
	q := newTxq(64)
	s := &sock{fd: fd}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer unix.Close(fd)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for !q.full() {
				q.add(f)
			}
			q.flush(s)
		}
	}()
	return &wg
}

// floodedPort opens a bridge with c in the test topology's bridge
// namespace, starts a flood of frames into it, and returns its first
// port; the flood stops, then the bridge closes, when t ends.
func floodedPort(t *testing.T, c Config) datapath.Port {
	t.Helper()
	tp := needTopology(t)
	var br *Bridge
	var err error
	inNetns(t, tp.bridge, func() { br, err = Open(c) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	stop := make(chan struct{})
	wg := flood(t, stop)
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { close(stop) })
	return br.Ports()[0]
}

// TestNoAllocs reads, decides and forwards batches under a flood and
// asserts that this allocates nothing.
func TestNoAllocs(t *testing.T) { forRings(t, testNoAllocs) }

func testNoAllocs(t *testing.T, ring Ring) {
	c := DefaultConfig("b0", "b1")
	c.Ring = ring
	port := floodedPort(t, c)
	b := datapath.Batch{Pkts: make([]datapath.Packet, 0, 64)}
	n := 0
	allocs := testing.AllocsPerRun(200, func() {
		if err := port.Read(&b); err != nil {
			t.Fatal(err)
		}
		n += len(b.Pkts)
		for i := range b.Pkts {
			b.Pkts[i].Verdict = datapath.Accept
		}
		if err := port.Done(&b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Read+Done allocates %v times per batch", allocs)
	}
	if n < 201 {
		t.Errorf("%d frames in 201 batches", n)
	}
}

// BenchmarkForward64 measures the frames per second the bridge forwards
// from a flood of 64-byte frames, with workers that accept everything.
// The flood's sender shares the machine with the bridge.
func BenchmarkForward64(b *testing.B) {
	for _, ring := range rings {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("ring=%v/workers=%d", ring, workers), func(b *testing.B) {
				benchForward64(b, ring, workers)
			})
		}
	}
}

func benchForward64(b *testing.B, ring Ring, workers int) {
	var fwd atomic.Int64
	r := startBridge(b, ring, workers, func(_ datapath.Port, p *datapath.Packet) {
		p.Verdict = datapath.Accept
		fwd.Add(1)
	})
	stop := make(chan struct{})
	wg := flood(b, stop)
	for fwd.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, t0 := fwd.Load(), time.Now()
	for fwd.Load()-start < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(t0)
	b.StopTimer()
	got := fwd.Load() - start
	close(stop)
	wg.Wait()
	s := r.stats()
	b.ReportMetric(float64(got)/el.Seconds(), "frames/s")
	b.ReportMetric(float64(s.KernelDrops)/float64(s.Received+s.KernelDrops), "ring-loss")
	r.stop()
}

// BenchmarkRoundTrip measures a UDP request and its reply through the
// bridge, one at a time. At such a low rate, with RingV3 each frame waits
// in a ring block until the block's timer hands it over (BlockTimeout),
// which dominates the latency the bridge adds; RingV2 hands each frame
// over at once.
func BenchmarkRoundTrip(b *testing.B) {
	for _, ring := range rings {
		b.Run("ring="+ring.String(), func(b *testing.B) { benchRoundTrip(b, ring) })
	}
}

func benchRoundTrip(b *testing.B, ring Ring) {
	tp := needTopology(b)
	startBridge(b, ring, 1, dropDiscard)
	var srv net.PacketConn
	var err error
	inNetns(b, tp.server, func() { srv, err = net.ListenPacket("udp4", serverIP4+":5004") })
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, a, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteTo(buf[:n], a)
		}
	}()
	var c net.Conn
	inNetns(b, tp.client, func() { c, err = net.Dial("udp4", serverIP4+":5004") })
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf[:18]); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestKernelDrops floods a bridge whose worker reads nothing: the ring
// fills and the kernel drops, which Stats reports from PACKET_STATISTICS
// (struct tpacket_stats_v3 for a V3 socket, struct tpacket_stats for V2).
// The rings are small so that they fill at once.
func TestKernelDrops(t *testing.T) {
	forRings(t, func(t *testing.T, ring Ring) {
		c := DefaultConfig("b0", "b1")
		c.Ring, c.Blocks, c.Frames = ring, 2, 15
		port := floodedPort(t, c)
		// A deadline on a condition, not a measurement: the flood fills
		// 15 slots or two blocks in well under a second.
		deadline := time.Now().Add(20 * time.Second)
		for port.Stats().KernelDrops == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no kernel drops reported with a full ring: %+v", port.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
		// What the ring holds is still there to read.
		b := datapath.Batch{Pkts: make([]datapath.Packet, 0, 64)}
		if err := port.Read(&b); err != nil || len(b.Pkts) == 0 {
			t.Errorf("Read after the drops: %d packets, %v", len(b.Pkts), err)
		}
		if err := port.Done(&b); err != nil {
			t.Error(err)
		}
	})
}
