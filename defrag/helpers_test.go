package defrag_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

var (
	src4 = netip.MustParseAddr("192.0.2.1")
	dst4 = netip.MustParseAddr("198.51.100.7")
	oth4 = netip.MustParseAddr("192.0.2.99")
	src6 = netip.MustParseAddr("2001:db8::1")
	dst6 = netip.MustParseAddr("2001:db8::2")
	oth6 = netip.MustParseAddr("2001:db8::99")
)

// Upper-layer protocols the datagrams carry.
const (
	tcp  = packettest.ProtoTCP
	udp  = packettest.ProtoUDP
	icmp = 255 // ICMP for IPv4, ICMPv6 for IPv6 (resolved by newDgram)
)

// dgram is a test datagram: its upper-layer packet (the fragmentable part)
// and its unfragmented form, from which fragments are cut.
type dgram struct {
	v6       bool
	src, dst netip.Addr
	proto    uint8
	id       uint32
	// IPv6 only: per-fragment extension headers before the Fragment
	// header (their last Next Header is ProtoFragment), and firstHdr, the
	// Next Header of the IPv6 header when unfrag is not empty.
	unfrag   []byte
	firstHdr uint8
	ipOpts   []packettest.IPv4Option // IPv4 only: options for every fragment (ID, offset, MF are added)
	payload  []byte                  // the upper-layer packet
	whole    []byte                  // the datagram unfragmented
}

// newDgram builds a datagram of family v6 carrying a transport packet of
// protocol proto with n bytes of data from rng.
func newDgram(v6 bool, proto uint8, n int, id uint32, rng *rand.Rand) *dgram {
	d := &dgram{v6: v6, src: src4, dst: dst4, id: id}
	if v6 {
		d.src, d.dst = src6, dst6
	}
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(rng.UintN(256))
	}
	switch proto {
	case tcp:
		d.payload = packettest.TCP(d.src, d.dst, packettest.TCPHeader{
			SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000,
			Flags: packet.TCPAck | packet.TCPPsh, Window: 502,
		}, body)
	case udp:
		d.payload = packettest.UDP(d.src, d.dst, 5353, 53, body)
	case icmp:
		if v6 {
			proto = packettest.ProtoICMPv6
			d.payload = packettest.ICMPv6Echo(d.src, d.dst, true, 7, 1, body)
		} else {
			proto = packettest.ProtoICMP
			d.payload = packettest.ICMPv4Echo(true, 7, 1, body)
		}
	default:
		d.payload = body
	}
	d.proto = proto
	d.rebuild()
	return d
}

// rebuild recomputes whole after a change of fields.
func (d *dgram) rebuild() {
	if !d.v6 {
		d.whole = packettest.IPv4(d.src, d.dst, d.proto, d.payload, append(d.ipOpts[:len(d.ipOpts):len(d.ipOpts)], packettest.ID(uint16(d.id)))...)
		return
	}
	if len(d.unfrag) == 0 {
		d.whole = packettest.IPv6(d.src, d.dst, d.proto, d.payload)
		return
	}
	// The unfragmentable part names the upper layer instead of the
	// Fragment header: find the Next Header that names the Fragment header.
	u := bytes.Clone(d.unfrag)
	pos, nh := 0, d.firstHdr
	for nh != packettest.ProtoFragment {
		n := (int(u[pos+1]) + 1) * 8
		if nh == packettest.ProtoAH {
			n = (int(u[pos+1]) + 2) * 4
		}
		if u[pos] == packettest.ProtoFragment {
			u[pos] = d.proto
			break
		}
		nh = u[pos]
		pos += n
	}
	d.whole = packettest.IPv6(d.src, d.dst, d.firstHdr, packettest.Cat(u, d.payload))
}

// frag returns the fragment carrying payload[off:end].
func (d *dgram) frag(off, end int, more bool) []byte {
	return d.fragData(off, more, d.payload[off:end])
}

// fragData returns a fragment at offset off carrying data.
func (d *dgram) fragData(off int, more bool, data []byte) []byte {
	if d.v6 {
		fh := packettest.Fragment(d.proto, d.id, uint16(off), more)
		if len(d.unfrag) == 0 {
			return packettest.IPv6(d.src, d.dst, packettest.ProtoFragment, packettest.Cat(fh, data))
		}
		return packettest.IPv6(d.src, d.dst, d.firstHdr, packettest.Cat(d.unfrag, fh, data))
	}
	o := append(d.ipOpts[:len(d.ipOpts):len(d.ipOpts)], packettest.ID(uint16(d.id)), packettest.FragOffset(uint16(off)))
	if more {
		o = append(o, packettest.MF())
	}
	return packettest.IPv4(d.src, d.dst, d.proto, data, o...)
}

// split returns the fragments of d cut at the given payload offsets
// (multiples of 8, increasing, inside the payload).
func (d *dgram) split(cuts ...int) [][]byte {
	var out [][]byte
	off := 0
	for _, c := range append(cuts, len(d.payload)) {
		out = append(out, d.frag(off, c, c < len(d.payload)))
		off = c
	}
	return out
}

// even cuts d into fragments of size bytes (a multiple of 8).
func (d *dgram) even(size int) [][]byte {
	var cuts []int
	for c := size; c < len(d.payload); c += size {
		cuts = append(cuts, c)
	}
	return d.split(cuts...)
}

// harness feeds packets to a Reassembler and checks its invariants after
// every call.
type harness struct {
	tb   testing.TB
	r    *defrag.Reassembler
	now  int64
	zone uint16
}

func newHarness(tb testing.TB, c defrag.Config) *harness {
	return &harness{tb: tb, r: defrag.New(c), now: 1e9}
}

// add decodes b as an IP datagram and adds it; out is a copy.
func (h *harness) add(b []byte) (defrag.Result, []byte) {
	h.tb.Helper()
	var p packet.Parsed
	p.DecodeIP(b)
	res, out := h.r.Add(&p, h.now, h.zone)
	if err := defrag.Check(h.r); err != nil {
		h.tb.Fatalf("after Add (%v): %v", res, err)
	}
	if (res == defrag.Complete) != (out != nil) {
		h.tb.Fatalf("Add returned %v with %d bytes", res, len(out))
	}
	if res == defrag.Dropped || res == defrag.PassedUntracked {
		if h.r.DropReason() == defrag.ReasonNone {
			h.tb.Fatalf("Add returned %v without a reason", res)
		}
	} else if h.r.DropReason() != defrag.ReasonNone {
		h.tb.Fatalf("Add returned %v with reason %v", res, h.r.DropReason())
	}
	return res, bytes.Clone(out)
}

// expect adds b and checks the result and, for Dropped and
// PassedUntracked, the reason.
func (h *harness) expect(b []byte, want defrag.Result, why defrag.Reason) []byte {
	h.tb.Helper()
	res, out := h.add(b)
	if res != want || (why != defrag.ReasonNone && h.r.DropReason() != why) {
		h.tb.Fatalf("Add = %v (%v), want %v (%v)", res, h.r.DropReason(), want, why)
	}
	return out
}

// feed adds every fragment; all but the last must be Held and the last
// must complete. It returns the datagram.
func (h *harness) feed(frags [][]byte) []byte {
	h.tb.Helper()
	for i, f := range frags {
		res, out := h.add(f)
		if i < len(frags)-1 {
			if res != defrag.Held {
				h.tb.Fatalf("fragment %d of %d: %v (%v), want held", i, len(frags), res, h.r.DropReason())
			}
			continue
		}
		if res != defrag.Complete {
			h.tb.Fatalf("last fragment: %v (%v), want complete", res, h.r.DropReason())
		}
		return out
	}
	return nil
}

// sameDatagram checks that got is want byte for byte and decodes to the
// same packet.
func sameDatagram(tb testing.TB, got, want []byte) {
	tb.Helper()
	if !bytes.Equal(got, want) {
		tb.Fatalf("reassembled datagram differs from the original:\n got %x\nwant %x", head(got), head(want))
	}
	var pg, pw packet.Parsed
	pg.DecodeIP(got)
	pw.DecodeIP(want)
	if !reflect.DeepEqual(pg, pw) {
		tb.Fatalf("decodes differ:\n got %+v\nwant %+v", pg, pw)
	}
	if pg.Reason != packet.ReasonNone || pg.VerifyChecksums() != packet.ReasonNone {
		tb.Fatalf("reassembled datagram decodes with %v", pg.Reason)
	}
}

func head(b []byte) []byte { return b[:min(len(b), 96)] }

// shuffled returns frags in the order given by perm.
func reorder(frags [][]byte, perm []int) [][]byte {
	out := make([][]byte, len(perm))
	for i, j := range perm {
		out[i] = frags[j]
	}
	return out
}

func reversed(frags [][]byte) [][]byte {
	perm := make([]int, len(frags))
	for i := range perm {
		perm[i] = len(frags) - 1 - i
	}
	return reorder(frags, perm)
}
