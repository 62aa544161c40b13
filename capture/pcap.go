package capture

import (
	"fmt"
	"io"

	"github.com/hare-fw/hare/packet"
)

// The pcap format, as draft-ietf-opsawg-pcap describes it:
//
//	file header, 24 bytes:
//	  0 magic       0xa1b2c3d4 (µs timestamps) or 0xa1b23c4d (ns), in the writer's byte order
//	  4 major       2
//	  6 minor       4
//	  8 reserved1   (thiszone, ignored)
//	 12 reserved2   (sigfigs, ignored)
//	 16 snaplen
//	 20 linktype    low 16 bits link type; bit 26 P, bits 28-31 FCS length (section 4)
//	record header, 16 bytes, then captured bytes:
//	  0 ts seconds
//	  4 ts µs or ns
//	  8 captured length
//	 12 original length
const (
	pcapHeaderLen = 24
	pcapRecordLen = 16
)

// readPcapHeader reads the pcap file header whose magic NewReader has
// recognised and set r.big and r.nanos from.
func (r *Reader) readPcapHeader() error {
	h, err := r.peek(pcapHeaderLen)
	if err != nil {
		return r.truncated(err, 0, "file header", int64(len(h)), pcapHeaderLen)
	}
	if major, minor := r.u16(h[4:6]), r.u16(h[6:8]); major != 2 {
		// libpcap also accepts only major version 2, any minor version.
		return r.formatError(0, fmt.Sprintf("unsupported pcap version %d.%d", major, minor))
	}
	// The snaplen field (h[16:20]) is not used as a limit: writers such as
	// dpkt declare one and write longer records, and libpcap and Wireshark
	// read them. maxCapture alone bounds memory.
	//
	// draft-ietf-opsawg-pcap section 4: only the low 16 bits of LinkType are
	// the link type. The upper bits carry an FCS length (bits 28-31, in
	// 16-bit units, valid if bit 26 is set) or are reserved and "MUST be
	// ignored by pcap file readers". An FCS, when present, stays in Data:
	// Packet has no field for its length, and package packet's decoder
	// already tolerates trailing bytes after the network layer.
	r.link = packet.LinkType(r.u32(h[20:24]) & 0xffff)
	if !r.link.IsSupported() {
		return &LinkTypeError{File: r.name, Offset: 0, Link: r.link}
	}
	_, err = r.skip(pcapHeaderLen)
	return err
}

// nextPcap reads one pcap record into p. It returns false, with nothing
// consumed, when the packet does not fit in the arena of the current batch.
func (r *Reader) nextPcap(p *Packet) (bool, error) {
	start := r.off
	h, err := r.peek(pcapRecordLen)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return false, err
		}
		return false, r.truncated(err, start, "record header", int64(len(h)), pcapRecordLen)
	}
	sec, frac := r.u32(h[0:4]), r.u32(h[4:8])
	caplen, origlen := r.u32(h[8:12]), r.u32(h[12:16])
	if caplen > maxCapture {
		return false, r.formatError(start, fmt.Sprintf("captured length %d exceeds limit %d", caplen, maxCapture))
	}
	if caplen > origlen {
		return false, r.formatError(start, fmt.Sprintf("captured length %d exceeds original length %d", caplen, origlen))
	}
	data, ok := r.room(int(caplen))
	if !ok {
		return false, nil
	}
	ts := int64(sec) * 1e9 // seconds are unsigned 32 bits: good until 2106
	if r.nanos {
		ts += int64(frac)
	} else {
		ts += int64(frac) * 1e3
	}
	if _, err := r.skip(pcapRecordLen); err != nil {
		return false, r.truncated(err, start, "record", pcapRecordLen, pcapRecordLen+int64(caplen))
	}
	if n, err := r.readFull(data); err != nil {
		return false, r.truncated(err, start, "packet data", int64(n), int64(caplen))
	}
	*p = Packet{
		Data:   data,
		Length: int(origlen),
		Time:   ts,
		Link:   r.link,
		Offset: start,
	}
	return true, nil
}
