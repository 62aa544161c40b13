package conntrack_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// flowPackets returns a request and a reply datagram for UDP flow i.
func flowPackets(i int) (req, rep []byte) {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 0x0a000000|uint32(i>>16))
	src := netip.AddrFrom4(a)
	port := uint16(i)
	req = packettest.IPv4(src, srv4, 17, packettest.UDP(src, srv4, port, 53, []byte("q")))
	rep = packettest.IPv4(srv4, src, 17, packettest.UDP(srv4, src, 53, port, []byte("a")))
	return req, rep
}

// TestConcurrentWorkers runs several workers on overlapping flows (run with
// -race): every flow ends with exactly one entry and every packet counted.
func TestConcurrentWorkers(t *testing.T) {
	const flows, workers, rounds = 200, 4, 20
	tab := conntrack.NewTable(nil, conntrack.NewEvents())
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p packet.Parsed
			var res conntrack.Result
			for r := range rounds {
				for f := range flows {
					req, rep := flowPackets(f)
					pkt := req
					if (f+w+r)%2 == 1 && r > 0 {
						pkt = rep
					}
					p.DecodeIP(pkt)
					tab.Process(&p, 0, int64(r), &res)
					if res.State == conntrack.StateInvalid {
						t.Errorf("flow %d: invalid %v", f, res.Reason)
						return
					}
				}
				tab.Reap(int64(r), 64)
			}
		}()
	}
	wg.Wait()
	if tab.Len() != flows {
		t.Fatalf("%d entries, want %d", tab.Len(), flows)
	}
	var total uint64
	tab.Range(func(e *conntrack.Entry) bool {
		total += e.Counters[0].Packets + e.Counters[1].Packets
		return true
	})
	st := tab.Stats()
	// A packet that lost the confirm race joins the winner's entry, which
	// counts it (Linux nf_ct_acct_merge): every packet is counted once.
	if want := uint64(flows * workers * rounds); total != want || st.InsertFailed != 0 {
		t.Fatalf("counted %d packets, want %d (clash_resolve %d, insert_failed %d)", total, want, st.ClashResolve, st.InsertFailed)
	}
}

// TestNoAllocs: an established packet (lookup, state update, counters)
// allocates nothing (STYLE B2.1).
func TestNoAllocs(t *testing.T) {
	tab := conntrack.NewTable(nil, conntrack.NewEvents())
	req, rep := flowPackets(1)
	var p, q packet.Parsed
	var res conntrack.Result
	p.DecodeIP(req)
	q.DecodeIP(rep)
	tab.Process(&p, 0, 0, &res)
	tab.Process(&q, 0, 0, &res)
	for _, tc := range []struct {
		name string
		p    *packet.Parsed
	}{{"udp4-original", &p}, {"udp4-reply", &q}} {
		n := testing.AllocsPerRun(1000, func() { tab.Process(tc.p, 0, 1, &res) })
		if n != 0 {
			t.Errorf("%s: %v allocs per packet", tc.name, n)
		}
	}
}

var sinkState conntrack.State

// BenchmarkEstablished measures a packet of a known flow: lookup, state
// update and counters, checksum verification off (the decoder's benchmark
// covers it).
func BenchmarkEstablished(b *testing.B) {
	s := conntrack.DefaultSettings()
	s.Set("checksum", "0")
	tab := conntrack.NewTable(s, nil)
	req, rep := flowPackets(1)
	var p packet.Parsed
	var res conntrack.Result
	p.DecodeIP(req)
	tab.Process(&p, 0, 0, &res)
	p.DecodeIP(rep)
	tab.Process(&p, 0, 0, &res)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tab.Process(&p, 0, 1, &res)
		sinkState = res.State
	}
}

// BenchmarkNewFlow measures opening and confirming entries (b.N distinct
// flows), the expiry of old ones excluded.
func BenchmarkNewFlow(b *testing.B) {
	s := conntrack.DefaultSettings()
	s.Set("checksum", "0")
	s.Set("max", "100000000")
	tab := conntrack.NewTable(s, nil)
	var ps []packet.Parsed
	for i := range 1 << 16 {
		req, _ := flowPackets(i)
		var p packet.Parsed
		p.DecodeIP(req)
		ps = append(ps, p)
	}
	var res conntrack.Result
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		p := &ps[i&(1<<16-1)]
		p.DstPort = uint16(i >> 16) // a new tuple each time
		tab.Process(p, 0, 0, &res)
		i++
	}
	sinkState = res.State
}

// BenchmarkMemory reports the heap bytes per entry with 1 million and 10
// million UDP entries in the table (index included), and the pause of a
// garbage collection with the table alive: entries and index hold no
// pointers, so the collector has nothing to scan there.
func BenchmarkMemory(b *testing.B) {
	for _, n := range []int{1 << 20, 10 << 20} {
		b.Run(fmt.Sprintf("%dM", n>>20), func(b *testing.B) {
			for range b.N {
				s := conntrack.DefaultSettings()
				s.Set("checksum", "0")
				s.Set("max", "100000000")
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				tab := conntrack.NewTable(s, nil)
				var p packet.Parsed
				var res conntrack.Result
				req, _ := flowPackets(0)
				p.DecodeIP(req)
				for i := range n {
					p.SrcPort, p.DstPort = uint16(i), uint16(i>>16)
					tab.Process(&p, 0, 0, &res)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/entry")
				b.ReportMetric(float64(after.PauseNs[(after.NumGC+255)%256])/1e3, "µs-GC-pause")
				if tab.Len() != n {
					b.Fatalf("%d entries, want %d", tab.Len(), n)
				}
				runtime.KeepAlive(tab)
			}
		})
	}
}

// BenchmarkEstablishedTCP measures an established TCP connection: each op
// is two packets, a 100-byte data segment and the peer's ACK, with window
// tracking; checksums off.
func BenchmarkEstablishedTCP(b *testing.B) {
	s := conntrack.DefaultSettings()
	s.Set("checksum", "0")
	tab := conntrack.NewTable(s, nil)
	var p packet.Parsed
	var res conntrack.Result
	send := func(src, dst netip.Addr, h packettest.TCPHeader, n int) {
		p.DecodeIP(ip(src, dst, 6, packettest.TCP(src, dst, h, make([]byte, n))))
		tab.Process(&p, 0, 0, &res)
		if res.State == conntrack.StateInvalid {
			b.Fatalf("handshake packet invalid: %v", res.Reason)
		}
	}
	send(cli4, srv4, packettest.TCPHeader{SrcPort: 1, DstPort: 2, Seq: 100, Flags: packet.TCPSyn, Window: 65535}, 0)
	send(srv4, cli4, packettest.TCPHeader{SrcPort: 2, DstPort: 1, Seq: 500, Ack: 101, Flags: packet.TCPSyn | packet.TCPAck, Window: 65535}, 0)
	send(cli4, srv4, packettest.TCPHeader{SrcPort: 1, DstPort: 2, Seq: 101, Ack: 501, Flags: packet.TCPAck, Window: 65535}, 0)
	var data, ack packet.Parsed
	data.DecodeIP(ip(cli4, srv4, 6, packettest.TCP(cli4, srv4, packettest.TCPHeader{SrcPort: 1, DstPort: 2, Seq: 101, Ack: 501, Flags: packet.TCPAck | packet.TCPPsh, Window: 65535}, make([]byte, 100))))
	ack.DecodeIP(ip(srv4, cli4, 6, packettest.TCP(srv4, cli4, packettest.TCPHeader{SrcPort: 2, DstPort: 1, Seq: 501, Ack: 201, Flags: packet.TCPAck, Window: 65535}, nil)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tab.Process(&data, 0, 1, &res)
		data.TCP.Seq += 100
		ack.TCP.Ack = data.TCP.Seq
		tab.Process(&ack, 0, 1, &res)
	}
	if res.State != conntrack.StateEstablished {
		b.Fatalf("last ACK: %v %v", res.State, res.Reason)
	}
}
