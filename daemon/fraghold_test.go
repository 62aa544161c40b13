package daemon

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/metrics"
	"github.com/hare-fw/hare/packet/packettest"
)

// A bridge's forward chain that drops DNS and rejects port 54, and lets
// the rest through.
const rulesFwdNoDNS = `table inet fw {
	chain forward {
		type filter hook forward priority filter; policy accept;
		udp dport 53 drop
		udp dport 54 reject
	}
}
`

var (
	client6 = netip.MustParseAddr("2001:db8::1")
	server6 = netip.MustParseAddr("2001:db8:1::7")
	macA    = [6]byte{2, 0, 0, 0, 0, 1}
	macB    = [6]byte{2, 0, 0, 0, 0, 2}
)

// fragRig is one worker over a memPort (a Forwarder, as an AF_PACKET
// bridge's port) that the test feeds batch by batch; every packet keeps
// its index as handle, so verdicts and forwards accumulate.
type fragRig struct {
	t    *testing.T
	port *memPort
	w    *Worker
}

func newFragRig(t *testing.T, rules string, dc defrag.Config) *fragRig {
	t.Helper()
	h := newHarness(t, "", rules) // the daemon, its engine and clock
	port := newMemPort(nil, nil, 1<<20)
	port.clock = &h.now
	w := newWorker(port, workerConfig{eng: h.d.eng, now: h.d.now, batch: 256, defrag: dc,
		ifDev: testDev("br0"), ifGen: &h.d.ifGen, pol: &h.d.pol, log: h.d.log, table: h.d.table})
	return &fragRig{t: t, port: port, w: w}
}

// batch decides pkts as one batch, after moving the clock on by dt ns,
// and returns their handles.
func (r *fragRig) batch(dt int64, pkts ...datapath.Packet) []int {
	r.t.Helper()
	m := r.port
	m.clock.Add(dt)
	if len(pkts) == 0 {
		// Only the clock moves: a Read with nothing left to hand out
		// waits for Close (memPort), and the worker with it.
		return nil
	}
	var hs []int
	for _, p := range pkts {
		hs = append(hs, len(m.pkts))
		m.pkts = append(m.pkts, p)
		m.verdicts = append(m.verdicts, datapath.Drop)
		m.marks = append(m.marks, -1)
	}
	if err := r.w.step(); err != nil {
		r.t.Fatal(err)
	}
	return hs
}

func (r *fragRig) stats() metrics.WorkerStats {
	var s metrics.WorkerStats
	r.w.c.publish()
	r.w.Counters().Snapshot(&s)
	return s
}

// frames6 returns the Ethernet frames of the fragments, of at most size
// payload bytes each, of a UDP datagram of n payload bytes to dport, as
// a bridge reads them.
func frames6(dport uint16, id uint32, n, size int) []datapath.Packet {
	udp := packettest.UDP(client6, server6, 40000, dport, bytes.Repeat([]byte{byte(id)}, n))
	var out []datapath.Packet
	for _, f := range packettest.IPv6Fragments(client6, server6, packettest.ProtoFragment, nil, packettest.ProtoUDP, udp, id, size) {
		out = append(out, ethPkt(f))
	}
	return out
}

func ethPkt(ip []byte) datapath.Packet {
	return datapath.Packet{Data: packettest.Cat(packettest.Ether(macB, macA, 0x86dd), ip), L3: 14,
		Link: datapath.LinkEthernet, EtherType: 0x86dd, Hook: datapath.HookForward, InIf: 1, OutIf: 2}
}

// sent checks that the port sent exactly the packets of handles want,
// each byte for byte as it came in: the held ones through Forward, in
// that order, the completing one (last) with its batch.
func (r *fragRig) sent(what string, want []int) {
	r.t.Helper()
	held := map[int]bool{}
	for _, h := range want[:len(want)-1] {
		held[h] = true
	}
	var got []forwarding
	for _, f := range r.port.forwarded {
		if held[f.handle] {
			got = append(got, f)
		}
	}
	if len(got) != len(held) {
		r.t.Fatalf("%s: %d of its fragments forwarded, want %d", what, len(got), len(held))
	}
	for i, f := range got {
		if h := want[i]; f.handle != h || !bytes.Equal(f.data, r.port.pkts[h].Data) {
			r.t.Errorf("%s: forward %d is packet %d (%x), want packet %d as it came (%x)", what, i, f.handle, f.data, h, r.port.pkts[h].Data)
		}
	}
	for _, h := range want {
		if r.port.verdicts[h] != datapath.Accept {
			r.t.Errorf("%s: packet %d: %v, want accept", what, h, r.port.verdicts[h])
		}
	}
}

// never checks that none of the packets of handles hs left.
func (r *fragRig) never(what string, hs []int) {
	r.t.Helper()
	for _, h := range hs {
		if r.port.verdicts[h] == datapath.Accept {
			r.t.Errorf("%s: packet %d was sent", what, h)
		}
		for _, f := range r.port.forwarded {
			if f.handle == h {
				r.t.Errorf("%s: packet %d was forwarded", what, h)
			}
		}
	}
}

// forgot checks that the port was told to forget exactly the held
// packets of handles want (NFQUEUE then drops them from its queue).
func (r *fragRig) forgot(what string, want ...int) {
	r.t.Helper()
	got := map[int]int{}
	for _, h := range r.port.forgotten {
		got[h]++
	}
	for _, h := range want {
		if got[h] != 1 {
			r.t.Errorf("%s: packet %d forgotten %d times, want once", what, h, got[h])
		}
		delete(got, h)
	}
	if len(got) != 0 {
		r.t.Errorf("%s: other packets forgotten: %v", what, got)
	}
}

// TestFragHoldInOrder: the fragments of an allowed datagram, one batch
// each, are held (Stolen, nothing sent) until the last completes it; then
// the held ones are forwarded byte for byte in arrival order and the last
// goes with its batch.
func TestFragHoldInOrder(t *testing.T) {
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{})
	fr := frames6(123, 1, 3000, 1232)
	if len(fr) != 3 {
		t.Fatalf("%d fragments", len(fr))
	}
	var hs []int
	for i, f := range fr {
		hs = append(hs, r.batch(1e6, f)...)
		if i < len(fr)-1 {
			if v := r.port.verdicts[hs[i]]; v != datapath.Stolen || len(r.port.forwarded) != 0 {
				t.Fatalf("fragment %d of an incomplete datagram: %v, %d forwarded; want held", i, v, len(r.port.forwarded))
			}
		}
	}
	r.sent("in order", hs)
	for _, f := range r.port.forwarded {
		if f.batch != 2 {
			t.Errorf("packet %d forwarded after batch %d, want during the completing batch (2)", f.handle, f.batch)
		}
	}
	s := r.stats()
	if s.Packets[metrics.VerdictAccept] != 3 || s.Packets[metrics.VerdictDrop] != 0 || r.w.Extras().FragForwarded != 2 || r.w.Extras().FragHeld != 2 {
		t.Errorf("counters %+v extras %+v", s.Packets, r.w.Extras())
	}
	if r.w.hold.inUse != 0 {
		t.Errorf("%d slots still in use", r.w.hold.inUse)
	}
}

// TestFragHoldOutOfOrder: fragments arriving last-first, in one batch
// with other traffic, leave in the order they arrived.
func TestFragHoldOutOfOrder(t *testing.T) {
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{})
	a := frames6(123, 2, 4000, 1000) // 5 fragments
	b := frames6(124, 3, 2000, 1000) // 3 fragments, interleaved
	if len(a) != 5 || len(b) != 3 {
		t.Fatalf("%d, %d fragments", len(a), len(b))
	}
	hs := r.batch(1e6, a[4], b[2], a[0], a[2], b[0])
	hs2 := r.batch(1e6, a[3], b[1], a[1])
	r.sent("datagram a", []int{hs[0], hs[2], hs[3], hs2[0], hs2[2]})
	r.sent("datagram b", []int{hs[1], hs[4], hs2[1]})
	if len(r.port.forwarded) != 6 {
		t.Errorf("%d forwarded, want 6", len(r.port.forwarded))
	}
}

// TestFragHoldDropped: no fragment of a datagram the ruleset drops, or
// rejects, ever leaves, and each is counted with the datagram's verdict.
func TestFragHoldDropped(t *testing.T) {
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{})
	dns := frames6(53, 4, 3000, 1232)
	var hs []int
	for _, f := range dns {
		hs = append(hs, r.batch(1e6, f)...)
	}
	r.never("dropped datagram", hs)
	rej := frames6(54, 5, 3000, 1232)
	hr := r.batch(1e6, rej...)
	r.never("rejected datagram", hr)
	r.forgot("dropped and rejected", hs[0], hs[1], hr[0], hr[1])
	if len(r.port.injected) != 1 {
		t.Errorf("%d reject replies, want 1 (for the datagram)", len(r.port.injected))
	}
	s := r.stats()
	if s.Packets[metrics.VerdictDrop] != 3 || s.Drops[metrics.DropRule] != 3 ||
		s.Packets[metrics.VerdictReject] != 3 || s.Drops[metrics.DropReject] != 3 || s.Packets[metrics.VerdictAccept] != 0 {
		t.Errorf("counters: packets %v drops %v", s.Packets, s.Drops)
	}
	if r.w.hold.inUse != 0 {
		t.Errorf("%d slots still in use", r.w.hold.inUse)
	}
}

// TestFragHoldOverlap: a fragment overlapping one held (RFC 5722 §4)
// discards the datagram: its held fragments are dropped, never sent, and
// so are the fragments still to come (defrag keeps the dead queue).
func TestFragHoldOverlap(t *testing.T) {
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{})
	fr := frames6(123, 6, 3000, 1232)
	// Another cut of the same datagram: its second fragment starts inside
	// fr[0].
	other := frames6(123, 6, 3000, 1000)
	hs := r.batch(1e6, fr[0], other[1])
	hs = append(hs, r.batch(1e6, fr[1], fr[2])...)
	r.never("overlapping datagram", hs)
	r.forgot("overlapping datagram", hs[0])
	s := r.stats()
	if s.FragDropped[defrag.ReasonOverlap] != 2 || s.FragDropped[defrag.ReasonDeadQueue] != 2 || s.Drops[metrics.DropFragment] != 4 {
		t.Errorf("fragments dropped by reason %v, drops %v", s.FragDropped, s.Drops)
	}
	if r.w.hold.inUse != 0 {
		t.Errorf("%d slots still in use", r.w.hold.inUse)
	}
}

// TestFragHoldTimeout: fragments of a datagram that is not complete
// within the reassembly timeout (RFC 8200 §4.5: 60 s, frag6_timeout) are
// dropped, and counted; the missing fragment arriving later starts a new
// datagram that is held in its turn.
func TestFragHoldTimeout(t *testing.T) {
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{})
	fr := frames6(123, 7, 3000, 1232)
	hs := r.batch(1e6, fr[0], fr[1])
	r.batch(59e9, ethPkt(packettest.IPv6(client6, server6, packettest.ProtoUDP, packettest.UDP(client6, server6, 1, 2, nil))))
	if s := r.stats(); s.FragDropped[defrag.ReasonTimeout] != 0 {
		t.Fatalf("dropped before the timeout: %v", s.FragDropped)
	}
	r.batch(1e9, ethPkt(packettest.IPv6(client6, server6, packettest.ProtoUDP, packettest.UDP(client6, server6, 1, 2, nil))))
	s := r.stats()
	if s.FragDropped[defrag.ReasonTimeout] != 2 || s.Drops[metrics.DropFragment] != 2 {
		t.Errorf("after the timeout: fragments dropped %v, drops %v", s.FragDropped, s.Drops)
	}
	r.forgot("timed-out datagram", hs...)
	last := r.batch(1e6, fr[2])
	r.never("timed-out datagram", append(hs, last...))
	if r.port.verdicts[last[0]] != datapath.Stolen {
		t.Errorf("late last fragment: %v, want held", r.port.verdicts[last[0]])
	}
}

// TestFragHoldPoolFull: when the hold pool (ipfrag_high_thresh +
// frag6_high_thresh bytes) has no room, the oldest datagram held is
// evicted to make it (RFC 4787 REQ-14a: fragments that never complete
// must not block the ones that do), its fragments dropped and counted as
// evicted; the others held are untouched, and the new fragment is held.
func TestFragHoldPoolFull(t *testing.T) {
	// 8.5 KiB (ipfrag_high_thresh + frag6_high_thresh): 17 slots of 512
	// bytes. Each first fragment below takes 2; the second and last
	// completes its datagram. The IPv6 queues stay under their 8 KiB.
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{High4: 512, High6: 8 << 10})
	var dgrams [][]datapath.Packet
	var firsts []datapath.Packet
	for id := range uint32(9) {
		d := frames6(123, 100+id, 900, 496)
		if len(d) != 2 || len(d[0].Data) <= holdSlot {
			t.Fatalf("%d fragments, first of %d bytes", len(d), len(d[0].Data))
		}
		dgrams = append(dgrams, d)
		firsts = append(firsts, d[0])
	}
	hs := r.batch(1e6, firsts...)
	for i, h := range hs {
		if r.port.verdicts[h] != datapath.Stolen {
			t.Fatalf("datagram %d: %v, want held", i, r.port.verdicts[h])
		}
	}
	r.forgot("oldest datagram, evicted for the ninth", hs[0])
	s := r.stats()
	if r.w.Extras().FragPoolFull != 0 || s.FragDropped[defrag.ReasonMemory] != 1 {
		t.Fatalf("pool-full count %d, evicted %d: want 0 and 1", r.w.Extras().FragPoolFull, s.FragDropped[defrag.ReasonMemory])
	}
	// A held datagram completes and goes out whole, the ninth too.
	done := r.batch(1e6, dgrams[3][1])
	r.sent("held datagram", []int{hs[3], done[0]})
	done = r.batch(1e6, dgrams[8][1])
	r.sent("datagram held after an eviction", []int{hs[8], done[0]})
	// The evicted datagram's last fragment starts a new queue that can
	// never complete it.
	late := r.batch(1e6, dgrams[0][1])
	if r.port.verdicts[late[0]] != datapath.Stolen {
		t.Errorf("late fragment: %v, want held", r.port.verdicts[late[0]])
	}
	r.never("datagram evicted for a full pool", append(late, hs[0]))
}

// TestFragHoldPoolTooSmall: a fragment the pool could not hold even empty
// is dropped and counted, and its queue discarded.
func TestFragHoldPoolTooSmall(t *testing.T) {
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{High4: 1, High6: 1}) // one slot
	d := frames6(123, 100, 900, 496)
	if len(d[0].Data) <= holdSlot {
		t.Fatalf("first fragment of %d bytes fits a slot", len(d[0].Data))
	}
	hs := r.batch(1e6, d[0])
	if r.port.verdicts[hs[0]] != datapath.Drop || r.w.Extras().FragPoolFull != 1 {
		t.Fatalf("%v, pool-full count %d: want drop, 1", r.port.verdicts[hs[0]], r.w.Extras().FragPoolFull)
	}
	if s := r.stats(); s.Drops[metrics.DropFragPoolFull] != 1 {
		t.Errorf("drops %v", s.Drops)
	}
	late := r.batch(1e6, d[1])
	r.never("datagram refused for a full pool", append(late, hs[0]))
}

// TestFragHoldMax: a port that bounds what a worker may keep (NFQUEUE:
// kept packets take slots of the kernel's queue) gets no more: past the
// bound the oldest datagram kept is evicted, as with a full pool.
func TestFragHoldMax(t *testing.T) {
	h := newHarness(t, "", rulesFwdNoDNS)
	port := newMemPort(nil, nil, 1<<20)
	port.clock = &h.now
	port.holdMax = 2
	w := newWorker(port, workerConfig{eng: h.d.eng, now: h.d.now, batch: 256, defrag: defrag.Config{},
		ifDev: testDev("br0"), ifGen: &h.d.ifGen, pol: &h.d.pol})
	r := &fragRig{t: t, port: port, w: w}
	a, b := frames6(123, 400, 3000, 1232), frames6(123, 401, 3000, 1232)
	hs := r.batch(1e6, a[0], a[1], b[0])
	if v := port.verdicts; v[hs[0]] != datapath.Stolen || v[hs[1]] != datapath.Stolen || v[hs[2]] != datapath.Stolen || w.Extras().FragPoolFull != 0 {
		t.Fatalf("verdicts %v, pool full %d: want all 3 held", v, w.Extras().FragPoolFull)
	}
	r.forgot("datagram evicted past the bound", hs[0], hs[1])
	more := r.batch(1e6, b[1])
	done := r.batch(1e6, b[2])
	r.sent("datagram within the bound", []int{hs[2], more[0], done[0]})
	r.never("evicted datagram", hs[:2])
}

// TestFragHoldMark: the fragments of an accepted datagram whose rules set
// a mark leave with that mark, the held ones too (NFQUEUE: NFQA_MARK with
// their late verdicts), as the fragments Linux cuts from the reassembled
// skb all carry its mark (ip6_fragment, ip_do_fragment: ip_copy_metadata).
func TestFragHoldMark(t *testing.T) {
	r := newFragRig(t, `table inet fw {
	chain forward {
		type filter hook forward priority filter; policy accept;
		udp dport 123 meta mark set 0x2a
	}
}
`, defrag.Config{})
	a := frames6(123, 403, 3000, 1232)
	hs := r.batch(1e6, a[0], a[1])
	hs = append(hs, r.batch(1e6, a[2])...)
	r.sent("marked datagram", hs)
	for _, h := range hs {
		if m := r.port.marks[h]; m != 0x2a {
			t.Errorf("fragment %d left with mark %d, want 0x2a", h, m)
		}
	}
}

// TestFragHoldNone: a port that may keep no packet at all (HoldMax 0:
// an NFQUEUE queue shorter than 4 packets, where a kept packet could
// fill the queue and stall it, as nothing new would come to expire it)
// gets no Stolen verdict; the worker falls back to passing the
// fragments of an incomplete datagram (fragmem.go).
func TestFragHoldNone(t *testing.T) {
	h := newHarness(t, "", rulesFwdNoDNS)
	port := newMemPort(nil, nil, 1<<20)
	port.clock = &h.now
	port.holdMax = 0
	w := newWorker(port, workerConfig{eng: h.d.eng, now: h.d.now, batch: 256, defrag: defrag.Config{},
		ifDev: testDev("br0"), ifGen: &h.d.ifGen, pol: &h.d.pol})
	r := &fragRig{t: t, port: port, w: w}
	a := frames6(123, 402, 3000, 1232)
	hs := r.batch(1e6, a[0], a[1])
	for _, i := range hs {
		if v := port.verdicts[i]; v == datapath.Stolen {
			t.Errorf("fragment %d kept by a port that may keep none", i)
		}
	}
	if w.hold != nil {
		t.Error("worker has a hold pool for a port that may keep no packet")
	}
}

// TestFragHoldIPv4: IPv4 fragments are held and sent as they came too
// (NFQUEUE gets them on the forward hook when nothing in the namespace
// uses conntrack; a bridge whose kernel does not reassemble IPv4), and
// the fragments of a dropped datagram never leave.
func TestFragHoldIPv4(t *testing.T) {
	r := newFragRig(t, rulesFwdNoDNS, defrag.Config{})
	frags4 := func(dport uint16, id uint16) []datapath.Packet {
		udp := packettest.UDP(client, server, 40000, dport, bytes.Repeat([]byte{'x'}, 100))
		var pk []datapath.Packet
		for _, f := range packettest.IPv4Fragments(client, server, 17, udp, 40, packettest.ID(id)) {
			p := ethPkt(f)
			p.EtherType = 0x0800
			pk = append(pk, p)
		}
		return pk
	}
	ok, dns := frags4(123, 1), frags4(53, 2)
	if len(ok) != 3 || len(dns) != 3 {
		t.Fatalf("%d, %d fragments", len(ok), len(dns))
	}
	hs := r.batch(1e6, ok[1], dns[0], ok[0])
	hs = append(hs, r.batch(1e6, dns[2], ok[2], dns[1])...)
	r.sent("allowed IPv4 datagram", []int{hs[0], hs[2], hs[4]})
	r.never("dropped IPv4 datagram", []int{hs[1], hs[3], hs[5]})
	r.forgot("dropped IPv4 datagram", hs[1], hs[3])
}

// TestFragHoldNoAllocs: holding, forwarding and dropping IPv6 fragments
// allocates nothing once warm.
func TestFragHoldNoAllocs(t *testing.T) {
	h := newHarness(t, "", rulesFwdNoDNS)
	var pkts []datapath.Packet
	for id := range uint32(4) {
		fr := frames6(123, 200+id, 3000, 1232)
		pkts = append(pkts, fr[2], fr[0], fr[1]) // out of order
	}
	pkts = append(pkts, frames6(53, 300, 3000, 1232)...)
	pkts = append(pkts, frames6(123, 301, 3000, 1232)[:2]...) // never complete: duplicates then
	port := newMemPort(pkts, nil, 4)
	port.loop = true
	w := newWorker(port, workerConfig{eng: h.d.eng, now: h.d.now, batch: 4, defrag: defrag.Config{},
		ifDev: testDev("br0"), ifGen: &h.d.ifGen, pol: &h.d.pol})
	for range 2 * (len(pkts)/4 + 1) {
		if err := w.step(); err != nil {
			t.Fatal(err)
		}
	}
	if a := testing.AllocsPerRun(100, func() { w.step() }); a != 0 {
		t.Errorf("%.1f allocations per batch, want 0", a)
	}
	if w.Extras().FragForwarded == 0 || w.Extras().FragHeld == 0 {
		t.Errorf("nothing held or forwarded: %+v", w.Extras())
	}
}

// BenchmarkFragHold is the worker loop over IPv6 fragments only: 3000-byte
// UDP datagrams in three fragments each, out of order, of which the
// worker holds two (a copy into the pool) and forwards them once the
// datagram is whole and accepted, or drops them with it (one datagram in
// five goes to the dropped port). ns/fragment.
//
//	go test ./daemon -run '^$' -bench FragHold -benchtime 1s
func BenchmarkFragHold(b *testing.B) {
	rules := filepath.Join(b.TempDir(), "rules.nft")
	if err := os.WriteFile(rules, []byte(rulesFwdNoDNS), 0o644); err != nil {
		b.Fatal(err)
	}
	c := DefaultConfig()
	c.Ruleset.File = rules
	d, err := New(c, Options{LogOutput: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	var pkts []datapath.Packet
	for id := range uint32(20) {
		dport := uint16(123)
		if id%5 == 0 {
			dport = 53
		}
		fr := frames6(dport, 500+id, 3000, 1232)
		pkts = append(pkts, fr[1], fr[0], fr[2])
	}
	port := newMemPort(pkts, nil, 30)
	port.loop = true
	w := newWorker(port, workerConfig{eng: d.Engine(), now: port.clock.Load, batch: 30, defrag: defrag.Config{},
		ifDev: testDev("br0"), pol: newPolicy(c)})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.step()
	}
	var ms metrics.WorkerStats
	w.Counters().Snapshot(&ms)
	n := ms.Packets[0] + ms.Packets[1] + ms.Packets[2]
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/fragment")
}
