package afpacket

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

var ne = binary.NativeEndian

// rxRing is the part of a socket's receive ring that depends on its
// TPACKET version: where the kernel's frames are and how they are handed
// over and given back. A TPACKET_V3 ring (ring3) hands over blocks of
// frames, a TPACKET_V2 ring (ring2) one frame at a time; the Port reads
// both the same way, through next and release, and everything else
// (checksums, VLAN tags, verdicts, transmission) is shared.
//
// Both keep frames in the ring until release: a Port decides and
// transmits them where they lie and releases them only after Done.
type rxRing interface {
	// next returns the next frame the kernel has handed over, or
	// ok == false when there is none yet.
	next() (f frame, ok bool)
	// release gives every frame returned by next back to the kernel.
	release()
	// bytes is the mapped ring; frame offsets are into it.
	bytes() []byte
	// drops returns the frames the kernel dropped for want of room since
	// the last call (PACKET_STATISTICS, which resets on read).
	drops(fd int) uint64
	// unmap unmaps the ring.
	unmap()
}

// frame is one frame of a ring as tpacket_rcv wrote it: its header's
// fields, whose layout differs between struct tpacket2_hdr and struct
// tpacket3_hdr, read out. Offsets are into the ring.
type frame struct {
	hdrEnd int // first byte after the header and its sockaddr_ll
	mac    int // the Ethernet header (tp_mac), the virtio_net_hdr before it
	snap   int // bytes in the ring (tp_snaplen)
	wire   int // bytes of the packet (tp_len)
	status uint32
	tci    uint16 // tp_vlan_tci, with TP_STATUS_VLAN_VALID
	tpid   uint16 // tp_vlan_tpid, with TP_STATUS_VLAN_TPID_VALID
}

// version is the PACKET_VERSION value.
func (r Ring) version() int {
	if r == RingV2 {
		return unix.TPACKET_V2
	}
	return unix.TPACKET_V3
}

// openRing sets up the receive ring of socket fd as c.Ring says
// (packet_set_ring) and maps it. PACKET_VERSION is set already.
func openRing(fd int, c *Config) (rxRing, error) {
	if c.Ring == RingV2 {
		return openRing2(fd, c)
	}
	return openRing3(fd, c)
}

// mapRing maps a ring of size bytes, locked in memory if the limits
// allow.
func mapRing(fd, size int) ([]byte, error) {
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED|unix.MAP_POPULATE)
	if err != nil {
		// MAP_LOCKED fails under a small RLIMIT_MEMLOCK; the ring works
		// unlocked too.
		mem, err = unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("afpacket: mmap ring: %w", err)
		}
	}
	return mem, nil
}
