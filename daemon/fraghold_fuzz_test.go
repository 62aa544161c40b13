package daemon

import (
	"encoding/binary"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet/packettest"
)

// FuzzFragHold drives a worker that holds fragments (fraghold.go) with a
// hostile schedule the fuzzer writes: fragments of four datagrams, two of
// them to a dropped port, sent in any order and batching, repeated, with
// their offsets moved, their More flag flipped or their tails cut, and
// the clock jumping across reassembly timeouts, into a pool so small
// that holding one evicts another. The first fragment of
// each datagram is never altered, so whatever is reassembled under an ID
// carries that datagram's UDP port and the ruleset's decision on it is
// known. Checked: no panic; no byte of a dropped datagram leaves (RFC
// 8200 §4.5 leaves a receiver nothing to reassemble it from); every
// packet held is sent or forgotten exactly once; and once every queue has
// timed out the pool is empty.
func FuzzFragHold(f *testing.F) {
	f.Add([]byte{0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x0c, 0x00})       // datagram 0 in order
	f.Add([]byte{0x09, 0x00, 0x05, 0x00, 0x01, 0x40})                   // datagram 1 (dropped) backwards
	f.Add([]byte{0x04, 0x05, 0x00, 0x00, 0x04, 0x00, 0x08, 0x80})       // a moved offset: overlap
	f.Add([]byte{0x04, 0x02, 0x00, 0x00, 0x08, 0x03, 0x08, 0x00, 0xff}) // flipped M, cut tail
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256 {
			return
		}
		// A pool of 9 slots (ipfrag_high_thresh 512 + frag6_high_thresh
		// 4 KiB): each fragment takes 2, so holding evicts often.
		r := newFragRig(t, rulesFwdNoDNS, defrag.Config{High4: 512, High6: 4 << 10})
		const nd = 4
		var dgrams [nd][]datapath.Packet
		for d := range nd {
			dport := uint16(123)
			if d%2 == 1 {
				dport = 53
			}
			dgrams[d] = frames6(dport, uint32(7000+d), 2000, 512) // 4 fragments each
		}
		var batch []datapath.Packet
		var from []int // datagram of each handle
		var pending []int
		flush := func(dt int64) {
			hs := r.batch(dt, batch...) // an empty batch only moves the clock
			if len(hs) != len(pending) {
				t.Fatalf("%d handles for %d packets", len(hs), len(pending))
			}
			from = append(from, pending...)
			batch, pending = nil, nil
		}
		for i := 0; i+1 < len(ops); i += 2 {
			sel, act := ops[i], ops[i+1]
			d := int(sel) % nd
			fi := int(sel>>2) % len(dgrams[d])
			if act&0x40 != 0 && len(batch) > 0 {
				flush(1e6)
			}
			if act&0x80 != 0 {
				flush(31e9) // past half the 60 s reassembly timeout
			}
			pk := dgrams[d][fi]
			if fi > 0 {
				pk = alterFragment(pk, act)
			}
			batch = append(batch, pk)
			pending = append(pending, d)
		}
		if len(batch) > 0 {
			flush(1e6)
		}
		// Every queue times out (a packet that is no fragment, to have a batch).
		batch = append(batch, ethPkt(packettest.IPv6(client6, server6, packettest.ProtoUDP, packettest.UDP(client6, server6, 1, 2, nil))))
		pending = append(pending, -1)
		flush(121e9)

		if r.w.hold.inUse != 0 || r.w.hold.nfrags != 0 {
			t.Errorf("pool not empty after every timeout: %d slots, %d fragments", r.w.hold.inUse, r.w.hold.nfrags)
		}
		forwarded := map[int]int{}
		for _, fw := range r.port.forwarded {
			forwarded[fw.handle]++
		}
		forgotten := map[int]int{}
		for _, h := range r.port.forgotten {
			forgotten[h]++
		}
		for h, d := range from {
			if d < 0 {
				continue
			}
			if n := forwarded[h] + forgotten[h]; n > 1 {
				t.Errorf("packet %d forwarded %d times, forgotten %d times", h, forwarded[h], forgotten[h])
			}
			v := r.port.verdicts[h]
			if v == datapath.Stolen && forwarded[h]+forgotten[h] != 1 {
				t.Errorf("packet %d held and never sent nor forgotten", h)
			}
			if d%2 == 1 && (v == datapath.Accept || forwarded[h] > 0) {
				t.Errorf("packet %d of dropped datagram %d left (verdict %v, forwarded %d times)", h, d, v, forwarded[h])
			}
		}
	})
}

// alterFragment returns a copy of a non-first fragment changed as act
// says: bits 0-1 pick the change (none, move the offset, flip More, cut
// the tail), bits 2-5 its amount.
func alterFragment(pk datapath.Packet, act byte) datapath.Packet {
	const fragOff = 14 + 40 + 2 // Ethernet, IPv6 header, then the fragment header's offset field
	amount := int(act>>2) & 0xf
	b := append([]byte(nil), pk.Data...)
	field := binary.BigEndian.Uint16(b[fragOff:])
	switch act & 3 {
	case 1:
		off := uint16(1+amount) * 64 // 8-octet units; never 0, which would make it a first fragment
		binary.BigEndian.PutUint16(b[fragOff:], off<<3|field&1)
	case 2:
		binary.BigEndian.PutUint16(b[fragOff:], field^1)
	case 3:
		cut := 8 * (1 + amount)
		if len(b)-cut > fragOff+6 {
			b = b[:len(b)-cut]
			if amount&1 == 0 { // half the time keep the payload length honest
				binary.BigEndian.PutUint16(b[14+4:], uint16(len(b)-14-40))
			}
		}
	}
	pk.Data = b
	return pk
}
