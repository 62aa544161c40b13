package report

import "github.com/hare-fw/hare/packet"

// Count is a number of packets and the bytes they held on the wire.
type Count struct {
	Packets uint64
	Bytes   uint64
}

func (c *Count) add(n int) {
	c.Packets++
	c.Bytes += uint64(n)
}

// keyed is a Count for one link type or EtherType. The lists are short (a
// trace has a handful of link types and EtherTypes), so a linear scan beats
// a map and allocates only when a key is seen for the first time.
type keyed struct {
	key uint16
	Count
}

func bump(list []keyed, key uint16, n int) []keyed {
	for i := range list {
		if list[i].key == key {
			list[i].add(n)
			return list
		}
	}
	list = append(list, keyed{key: key})
	list[len(list)-1].add(n)
	return list
}

// Pseudo EtherTypes for the network table. Real EtherTypes are at least
// 0x0600; values below are IEEE 802.3 lengths, so these cannot collide.
const (
	etherNone  = 0 // no EtherType and not IP
	etherLLC   = 1 // IEEE 802.3 frame: the field is a length
	etherFirst = 0x0600
)

// File is what one capture contributed to a Summary.
type File struct {
	Path    string
	Format  string // "pcap", "pcapng"…, as capture.Reader.Format says; "" if it could not be opened
	Packets uint64
	Bytes   uint64
	Err     error // why the capture could not be read to its end; nil if it was
}

// Summary accumulates counts over the packets given to Add.
//
// The zero value is an empty summary that does not verify checksums. A
// Summary is not safe for concurrent use.
type Summary struct {
	// Checksums makes Add verify checksums (packet.Parsed.VerifyChecksums)
	// and count failures. Set it before the first Add.
	Checksums bool

	Files []File // captures given to Replay, in order

	// Track, when not nil, runs connection tracking over the packets
	// Replay reads; its counts join the summary. Set it before the first
	// Replay.
	Track *Tracker

	Packets       uint64
	Bytes         uint64 // frame lengths on the wire
	CapturedBytes uint64 // frame bytes the captures hold
	First, Last   int64  // earliest and latest timestamp, ns since the Unix epoch; valid when Timed
	Timed         bool   // Add has seen a packet (AddUnsupported ones have no time)

	links      []keyed // by packet.LinkType, first seen first
	network    []keyed // by EtherType or a pseudo one (etherNone, etherLLC)
	transport  [256]Count
	extPackets uint64 // IPv6 packets with at least one extension header
	ext        [packet.NumExtKinds]uint64
	anomalies  [packet.NumAnomalies]uint64
	frags      [2][4]uint64 // [IPv4, IPv6][packet.FragKind]
	tunnels    [256]uint64  // by packet.Tunnel
	problems   [packet.NumReasons]uint64
	checksums  [packet.NumReasons]uint64
}

// Add counts one decoded packet: wireLen is its length on the wire, capLen
// the bytes captured, ts its time in ns since the Unix epoch. With
// s.Checksums set it calls p.VerifyChecksums, which may set p.Reason. Add
// does not allocate, except the first time a link type or EtherType is seen.
func (s *Summary) Add(p *packet.Parsed, wireLen, capLen int, ts int64) {
	if !s.Timed || ts < s.First {
		s.First = ts
	}
	if !s.Timed || ts > s.Last {
		s.Last = ts
	}
	s.Timed = true
	s.Packets++
	s.Bytes += uint64(wireLen)
	s.CapturedBytes += uint64(capLen)

	s.links = bump(s.links, uint16(p.Link), wireLen)
	s.network = bump(s.network, networkKey(p), wireLen)

	// Decode problems first: VerifyChecksums below may overwrite a clean
	// p.Reason with a checksum reason.
	if p.Reason != packet.ReasonNone {
		s.problems[p.Reason]++
	}
	for i := 0; i < packet.NumAnomalies; i++ {
		if p.Anomalies&(1<<i) != 0 {
			s.anomalies[i]++
		}
	}
	if p.IPVersion == 0 {
		return
	}
	s.transport[p.Proto].add(wireLen)
	v := 0
	if p.IPVersion == 6 {
		v = 1
		if p.Ext.Count > 0 || p.Ext.Seen != 0 {
			s.extPackets++
		}
		for k := 0; k < packet.NumExtKinds; k++ {
			if p.Ext.Seen.Has(packet.ExtKind(k)) {
				s.ext[k]++
			}
		}
	}
	if k := p.Frag.Kind; int(k) < len(s.frags[v]) {
		s.frags[v][k]++
	}
	if p.Tunnel != packet.NoTunnel {
		s.tunnels[p.Tunnel]++
	}
	if s.Checksums {
		if r := p.VerifyChecksums(); r != packet.ReasonNone {
			s.checksums[r]++
		}
	}
}

// AddUnsupported counts a packet that a reader skipped because its link
// type is not one package packet decodes (capture.LinkTypeError): it shows
// under its link type and as a ReasonUnsupportedLink decode problem. Its
// length and time are unknown and not counted.
func (s *Summary) AddUnsupported(link packet.LinkType) {
	s.Packets++
	s.links = bump(s.links, uint16(link), 0)
	s.network = bump(s.network, etherNone, 0)
	s.problems[packet.ReasonUnsupportedLink]++
}

// networkKey returns the network-table key for p: its EtherType, or one
// derived from the link type or IP version for links without EtherTypes.
func networkKey(p *packet.Parsed) uint16 {
	et := p.EtherType
	if et == 0 {
		switch {
		case p.IPVersion == 4 || p.Link == packet.LinkIPv4:
			et = packet.EtherTypeIPv4
		case p.IPVersion == 6 || p.Link == packet.LinkIPv6:
			et = packet.EtherTypeIPv6
		}
	}
	if et != etherNone && et < etherFirst {
		et = etherLLC
	}
	return et
}
