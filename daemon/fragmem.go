package daemon

import (
	"encoding/binary"

	"github.com/hare-fw/hare/packet"
)

// fragMemory remembers, for a reassembly timeout, the datagrams a worker
// refused, so that their fragments keep being dropped.
//
// Why: on a port that cannot send a packet of an earlier batch (not a
// datapath.Forwarder; both datapaths are), fragments are not held: the
// fragments of an incomplete datagram pass and the datagram's verdict
// falls on the fragment that completes it (worker.go). Once that fragment
// is dropped the receiver cannot reassemble the datagram, but the
// reassembler has forgotten it: a copy of the dropped fragment sent again
// would start a new queue, be let through as incomplete, and complete the
// datagram at the receiver. Remembering the refused datagram (by its
// reassembly key: addresses, identification and, for IPv4, protocol, as
// ip4_frag_match and ip6frag_key do) closes that hole; it holds a fixed
// number of datagrams and allocates nothing.
type fragMemory struct {
	slots [fragMemSlots]fragSlot
}

const (
	fragMemSlots = 1024 // a power of two
	fragMemProbe = 4    // slots tried per key
)

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8 // IPv4 only; 0 for IPv6
	v6       bool
}

type fragSlot struct {
	key   fragKey
	until int64 // 0: empty
}

func fragKeyOf(p *packet.Parsed) fragKey {
	k := fragKey{src: p.Src.As16(), dst: p.Dst.As16(), id: p.Frag.ID, v6: p.IPVersion == 6}
	if !k.v6 {
		k.proto = uint8(p.Proto)
	}
	return k
}

func (k *fragKey) hash() uint32 {
	h := uint64(k.id)*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(k.src[8:]) ^ binary.LittleEndian.Uint64(k.dst[8:])*0xbf58476d1ce4e5b9
	h ^= h >> 31
	return uint32(h)
}

// refuse remembers k until the given time.
func (m *fragMemory) refuse(k fragKey, until int64) {
	base := k.hash()
	victim := -1
	for i := range uint32(fragMemProbe) {
		j := int((base + i) & (fragMemSlots - 1))
		s := &m.slots[j]
		if s.until != 0 && s.key == k {
			s.until = until
			return
		}
		if victim < 0 || s.until < m.slots[victim].until {
			victim = j // the empty or soonest-expiring slot
		}
	}
	m.slots[victim] = fragSlot{key: k, until: until}
}

// refused reports whether k was refused and is still remembered at now.
func (m *fragMemory) refused(k fragKey, now int64) bool {
	base := k.hash()
	for i := range uint32(fragMemProbe) {
		s := &m.slots[(base+i)&(fragMemSlots-1)]
		if s.until > now && s.key == k {
			return true
		}
	}
	return false
}
