package defrag_test

import (
	"encoding/binary"
	"testing"

	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
)

// fuzzFrag builds one fragment from 6 bytes of fuzz input:
//
//	b[0] bit 0: IPv6; bit 1: M/MF; bit 2: DF; bits 3-4: zone;
//	     bit 5: the other source; bits 6-7: ECN codepoint
//	b[1] Identification (low 2 bits: few IDs, so fragments meet)
//	b[2:4] fragment offset in 8-byte units (13 bits)
//	b[4] payload length: b[4]*8, plus b[5]&7 extra bytes when b[5]&8
//	b[5] bits 4-5: IPv6 extras (1: a Hop-by-Hop header before the
//	     Fragment header; 2: a Destination Options header after it;
//	     3: Payload Length 0); bits 6-7: cut the frame short (snaplen)
//	     by that many times 8 bytes
//
// The builder writes raw bytes, with no checks, so that malformed
// combinations reach the decoder and Add.
func fuzzFrag(b []byte) []byte {
	v6, more, df := b[0]&1 != 0, b[0]&2 != 0, b[0]&4 != 0
	id := uint32(b[1] & 3)
	off := int(binary.BigEndian.Uint16(b[2:4])&0x1fff) * 8
	n := int(b[4]) * 8
	if b[5]&8 != 0 {
		n += int(b[5] & 7)
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(off + i) // position-dependent, so reassembly errors show
	}
	var pkt []byte
	if v6 {
		src := []byte{0x20, 1, 0xd, 0xb8, 15: 1}
		if b[0]&32 != 0 {
			src[15] = 2
		}
		var ext []byte
		nh, fnext := uint8(44), uint8(17)
		switch b[5] >> 4 & 3 {
		case 1:
			ext = []byte{44, 0, 5, 2, 0, 0, 1, 0} // Hop-by-Hop: Router Alert, names the Fragment header
			nh = 0
		case 2:
			fnext = 60
			data = append([]byte{17, 0, 1, 4, 0, 0, 0, 0}, data...)
		}
		fh := []byte{fnext, 0, byte(off >> 8), byte(off)&^7 | boolBit(more), 0, 0, 0, byte(id)}
		plen := len(ext) + 8 + len(data)
		if b[5]>>4&3 == 3 {
			plen = 0
		}
		hdr := make([]byte, 40)
		hdr[0], hdr[1] = 0x60, b[0]>>6<<4
		binary.BigEndian.PutUint16(hdr[4:], uint16(plen))
		hdr[6], hdr[7] = nh, 64
		copy(hdr[8:], src)
		copy(hdr[24:], []byte{0x20, 1, 0xd, 0xb8, 15: 9})
		pkt = append(append(append(hdr, ext...), fh...), data...)
	} else {
		hdr := make([]byte, 20)
		hdr[0], hdr[1] = 0x45, b[0]>>6
		binary.BigEndian.PutUint16(hdr[2:], uint16(min(20+len(data), 0xffff)))
		binary.BigEndian.PutUint16(hdr[4:], uint16(id))
		ff := uint16(off / 8)
		if more {
			ff |= 0x2000
		}
		if df {
			ff |= 0x4000
		}
		binary.BigEndian.PutUint16(hdr[6:], ff)
		hdr[8], hdr[9] = 64, 17
		copy(hdr[12:], []byte{192, 0, 2, 1})
		if b[0]&32 != 0 {
			hdr[15] = 2
		}
		copy(hdr[16:], []byte{198, 51, 100, 7})
		pkt = append(hdr, data...)
	}
	cut := int(b[5]>>6) * 8
	return pkt[:max(len(pkt)-cut, 0)]
}

func boolBit(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// FuzzReassemble feeds a sequence of fragments built from the fuzz input
// (6 bytes each, see fuzzFrag; one more byte advances the clock between
// fragments) and checks: no panic, the internal invariants (memory
// accounting never negative and equal to what the queues hold, lists and
// map consistent) after every Add, no datagram longer than 65535+40
// bytes, and every completed datagram a well-formed IP datagram of the
// same family whose length fields agree with its size.
func FuzzReassemble(f *testing.F) {
	// Two IPv4 fragments of one datagram, in order.
	f.Add([]byte{2, 1, 0, 0, 2, 0, 0, 0, 1, 0, 2, 2, 0})
	// Two IPv6 fragments of one datagram, last first.
	f.Add([]byte{1, 1, 0, 2, 2, 0, 0, 3, 1, 0, 0, 2, 0})
	// IPv6 overlap, then the fragment that would have completed.
	f.Add([]byte{3, 1, 0, 0, 4, 0, 0, 3, 1, 0, 1, 4, 0, 0, 1, 1, 0, 4, 2, 0})
	// IPv6 atomic fragment next to a pending queue of the same ID.
	f.Add([]byte{3, 1, 0, 0, 4, 0, 0, 1, 1, 0, 0, 4, 0, 0, 1, 1, 0, 4, 2, 0})
	// IPv6 non-last fragment of 13 bytes (K-08), and a jumbogram.
	f.Add([]byte{3, 2, 0, 0, 1, 0x0d, 0, 3, 2, 0, 1, 1, 0x30})
	// IPv4 fragment ending past 65535, and one cut by the snaplen.
	f.Add([]byte{0, 2, 0x1f, 0xff, 255, 0, 0, 2, 2, 0, 0, 4, 0x40})
	// IPv6 with Hop-by-Hop before and Destination Options after the
	// Fragment header, ECN CE and Not-ECT.
	f.Add([]byte{0xc3, 1, 0, 0, 4, 0x10, 0, 1, 1, 0, 4, 1, 0x20})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := defrag.New(defrag.Config{High4: 8 << 10, Low4: 4 << 10, High6: 8 << 10, Low6: 4 << 10})
		var p, whole packet.Parsed
		now := int64(0)
		for i := 0; len(in) >= 6 && i < 64; i++ {
			frame := fuzzFrag(in[:6])
			in = in[6:]
			if len(in) > 0 {
				now += int64(in[0]) * 1e9
				in = in[1:]
			}
			p.DecodeIP(frame)
			v := p.IPVersion
			res, out := r.Add(&p, now, 0)
			if err := defrag.Check(r); err != nil {
				t.Fatalf("fragment %d (%v): %v", i, res, err)
			}
			if len(out) > 65535+40 {
				t.Fatalf("datagram of %d bytes", len(out))
			}
			if res != defrag.Complete {
				continue
			}
			whole.DecodeIP(out)
			if whole.IPVersion != v || whole.L3Len != len(out) {
				t.Fatalf("completed datagram decodes as IPv%d of %d bytes, has %d", whole.IPVersion, whole.L3Len, len(out))
			}
			if whole.Frag.IsFragment() {
				t.Fatalf("completed datagram is a fragment: %+v", whole.Frag)
			}
		}
		before := r.Stats()
		if n := r.Expire(now + 61e9); n != before.QueuesIPv4+before.QueuesIPv6 {
			t.Fatalf("Expire discarded %d of %d queues", n, before.QueuesIPv4+before.QueuesIPv6)
		}
		if s := r.Stats(); s.QueuesIPv4+s.QueuesIPv6 != 0 || s.MemIPv4+s.MemIPv6 != 0 {
			t.Fatalf("after expiring everything: %+v", s)
		}
	})
}
