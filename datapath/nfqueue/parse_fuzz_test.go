package nfqueue

import (
	"testing"
	"unsafe"

	"github.com/hare-fw/hare/datapath"
)

// FuzzParse: whatever a netlink datagram holds (messages and attributes of
// any length, truncated, overlapping the end), port.parse neither panics
// nor takes more packets than the batch has room for, keeps one id per
// packet, and every payload it hands out lies inside the datagram (the
// kernel's nlmsg_ok/nla_ok bounds, which nfnetlink_rcv and nla_parse
// apply to what they receive).
func FuzzParse(f *testing.F) {
	pkt := func(id uint32, payload []byte, extra ...byte) []byte {
		b := putNlmsg(nil, msgPacket, 0, 0)
		b = putAttr(b, attrPacketHdr, byte(id>>24), byte(id>>16), byte(id>>8), byte(id), 0x08, 0x00, 2)
		b = putAttr32(b, attrMark, 7)
		b = putAttr32(b, attrInDev, 2)
		b = putAttr(b, attrPayload, payload...)
		b = append(b, extra...)
		return endNlmsg(b, 0)
	}
	one := pkt(1, []byte{0x45, 0, 0, 20})
	f.Add(one)
	f.Add(append(pkt(1, nil), pkt(2, []byte{0x60})...))
	f.Add(one[:len(one)-3])                                                // cut inside the payload attribute
	f.Add(append(putNlmsg(nil, nlmsgError, 0, 0), 0xfe, 0xff, 0xff, 0xff)) // an error message
	f.Add([]byte{16, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})         // a packet message with no body
	f.Fuzz(func(t *testing.T, msg []byte) {
		var p port
		b := &datapath.Batch{Pkts: make([]datapath.Packet, 0, 2)}
		p.parse(b, msg)
		if len(b.Pkts) > 2 || len(p.ids) != len(b.Pkts) {
			t.Fatalf("%d packets, %d ids, room for 2", len(b.Pkts), len(p.ids))
		}
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
		for i, pk := range b.Pkts {
			if len(pk.Data) == 0 {
				continue
			}
			at := uintptr(unsafe.Pointer(&pk.Data[0]))
			if at < lo || at+uintptr(len(pk.Data)) > lo+uintptr(len(msg)) {
				t.Fatalf("packet %d's payload lies outside the datagram", i)
			}
			if uint32(pk.Handle) != p.ids[i] {
				t.Fatalf("packet %d: handle %d, id %d", i, pk.Handle, p.ids[i])
			}
		}
	})
}
