package capture

import (
	"fmt"
	"io"
	"math/bits"

	"github.com/hare-fw/hare/packet"
)

// The pcapng format, as draft-ietf-opsawg-pcapng describes it. Every block is
//
//	0 block type
//	4 block total length (a multiple of 4, at least 12)
//	8 body, options
//	  block total length again
//
// in the byte order of its section, set by the byte-order magic of the
// Section Header Block that opens the section. Packets refer to interfaces
// by their index among the section's Interface Description Blocks.
const (
	blockSHB = 0x0a0d0d0a // Section Header Block (section 4.1); a palindrome, so order-free
	blockIDB = 1          // Interface Description Block (4.2)
	blockOPB = 2          // Packet Block, obsolete (appendix)
	blockSPB = 3          // Simple Packet Block (4.4)
	blockEPB = 6          // Enhanced Packet Block (4.3)

	byteOrderMagic = 0x1a2b3c4d

	optEndOfOpt = 0  // opt_endofopt
	optName     = 2  // if_name
	optTsresol  = 9  // if_tsresol
	optTsoffset = 14 // if_tsoffset

	blockMin = 12 // type, length, trailing length
	shbMin   = 28 // + byte-order magic, major, minor, section length
	idbMin   = 20 // + link type, reserved, snaplen
	spbMin   = 16 // + original length
	epbMin   = 32 // + interface, timestamp high and low, captured and original length
	epbFixed = 28 // bytes of an EPB or OPB before the packet data
)

// iface is what a section's Interface Description Block says about the
// packets on that interface.
type iface struct {
	link    packet.LinkType
	snaplen uint32
	ts      tsConv
	offset  int64 // if_tsoffset, seconds
}

// tsConv converts a pcapng timestamp, a count of 1/resolution second units,
// to nanoseconds. if_tsresol (section 4.2) is 10^-v, or 2^-v when the top
// bit of the option byte is set; the default is 10^-6.
type tsConv struct {
	binary bool
	shift  uint   // binary: ns = units * 1e9 >> shift
	mul    uint64 // decimal, v <= 9: ns = units * mul
	div    uint64 // decimal, v > 9: ns = units / div; 0 means the result is 0
}

// pow10 holds every power of ten that fits in a uint64.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func tsConvFrom(resol uint8) tsConv {
	if resol&0x80 != 0 {
		return tsConv{binary: true, shift: uint(resol & 0x7f)}
	}
	switch v := int(resol); {
	case v <= 9:
		return tsConv{mul: pow10[9-v]}
	case v-9 < len(pow10):
		return tsConv{div: pow10[v-9]}
	default:
		// A unit below 10^-28 s: any 64-bit count is under a nanosecond.
		return tsConv{}
	}
}

// nanos converts units to nanoseconds. It never panics; a timestamp too big
// for int64 nanoseconds (after 2262) wraps, as it can only come from a
// corrupt or absurd file.
func (c tsConv) nanos(units uint64) uint64 {
	switch {
	case c.binary:
		// 128-bit product, so that a 2^-32 resolution (a common one) does
		// not overflow before the shift.
		hi, lo := bits.Mul64(units, 1e9)
		if c.shift >= 64 {
			return hi >> (c.shift - 64)
		}
		return lo>>c.shift | hi<<(64-c.shift)
	case c.mul != 0:
		return units * c.mul
	case c.div != 0:
		return units / c.div
	}
	return 0
}

// nextPcapng reads blocks until one holds a packet, which it stores in p. It
// returns false, with nothing of that block consumed, when the packet does
// not fit in the arena of the current batch.
func (r *Reader) nextPcapng(p *Packet) (bool, error) {
	for {
		start := r.off
		h, err := r.peek(8)
		if err != nil {
			if len(h) == 0 && err == io.EOF {
				return false, err
			}
			return false, r.truncated(err, start, "block header", int64(len(h)), 8)
		}
		typ := r.u32(h[0:4])
		if typ == blockSHB {
			// A new section: new byte order, new interfaces.
			if err := r.readSHB(start); err != nil {
				return false, err
			}
			continue
		}
		length := r.u32(h[4:8])
		if err := r.checkLength(start, length, blockMin); err != nil {
			return false, err
		}
		switch typ {
		case blockEPB, blockOPB:
			return r.readEPB(p, start, typ, length)
		case blockSPB:
			return r.readSPB(p, start, length)
		case blockIDB:
			err = r.readIDB(start, length)
		default:
			// NRB, ISB, DSB, custom and comment blocks, and types from the
			// future: all skipped by their length (section 3.1).
			err = r.endBlock(start, length)
		}
		if err != nil {
			return false, err
		}
	}
}

// checkLength checks a block total length against the block's minimum and
// the multiple-of-4 rule (section 3.1).
func (r *Reader) checkLength(start int64, length, minimum uint32) error {
	if length < minimum {
		return r.formatError(start, fmt.Sprintf("block length %d below minimum %d", length, minimum))
	}
	if length%4 != 0 {
		return r.formatError(start, fmt.Sprintf("block length %d not a multiple of 4", length))
	}
	return nil
}

// endBlock consumes the rest of the block that starts at start, up to and
// including its trailing total length, and checks that it matches.
func (r *Reader) endBlock(start int64, length uint32) error {
	end := start + int64(length)
	if _, err := r.skip(end - 4 - r.off); err != nil {
		return r.truncated(err, start, "block", r.off-start, int64(length))
	}
	t, err := r.peek(4)
	if err != nil {
		return r.truncated(err, start, "block", r.off-start+int64(len(t)), int64(length))
	}
	if trail := r.u32(t); trail != length {
		return r.formatError(start, fmt.Sprintf("block total length mismatch: %d at start, %d at end", length, trail))
	}
	_, err = r.skip(4)
	return err
}

// readSHB reads a Section Header Block. It sets the byte order of the
// section and forgets the previous section's interfaces.
func (r *Reader) readSHB(start int64) error {
	h, err := r.peek(shbMin - 4)
	if err != nil {
		return r.truncated(err, start, "section header block", int64(len(h)), shbMin)
	}
	switch bom := r.u32(h[8:12]); {
	case bom == byteOrderMagic:
	case bits.ReverseBytes32(bom) == byteOrderMagic:
		r.big = !r.big
	default:
		return r.formatError(start, fmt.Sprintf("unknown byte-order magic %#08x", bom))
	}
	length := r.u32(h[4:8])
	if err := r.checkLength(start, length, shbMin); err != nil {
		return err
	}
	if major, minor := r.u16(h[12:14]), r.u16(h[14:16]); major != 1 {
		// Minor versions are compatible (1.2 exists in old files); the
		// spec says to skip a section of another major version, but a
		// reader that silently drops sections hides data: refuse instead.
		return r.formatError(start, fmt.Sprintf("unsupported pcapng version %d.%d", major, minor))
	}
	r.ifaces = r.ifaces[:0]
	return r.endBlock(start, length) // section length and options: not needed
}

// readIDB reads an Interface Description Block, with its timestamp options,
// and appends it to the section's interfaces. An unsupported link type is
// not an error here: files often declare interfaces they never capture on,
// so the error waits for a packet on the interface.
func (r *Reader) readIDB(start int64, length uint32) error {
	if err := r.checkLength(start, length, idbMin); err != nil {
		return err
	}
	h, err := r.peek(idbMin - 4)
	if err != nil {
		return r.truncated(err, start, "block", int64(len(h)), int64(length))
	}
	ifc := iface{
		link:    packet.LinkType(r.u16(h[8:10])),
		snaplen: r.u32(h[12:16]),
		ts:      tsConvFrom(6),
	}
	if _, err := r.skip(idbMin - 4); err != nil {
		return r.truncated(err, start, "block", r.off-start, int64(length))
	}
	// Options (section 3.5): code, length, value padded to 4 bytes. They are
	// read one at a time, so a long if_description costs no memory.
	for rem := int64(length) - idbMin; rem >= 4; {
		o, err := r.peek(4)
		if err != nil {
			return r.truncated(err, start, "block", r.off-start+int64(len(o)), int64(length))
		}
		code, olen := r.u16(o[0:2]), r.u16(o[2:4])
		if code == optEndOfOpt {
			break
		}
		padded := (int64(olen) + 3) &^ 3
		if 4+padded > rem {
			return r.formatError(start, fmt.Sprintf("option %d of length %d overruns its block", code, olen))
		}
		_, _ = r.skip(4) // peeked, cannot fail
		rem -= 4 + padded
		switch {
		case code == optTsresol && olen == 1:
			v, err := r.peek(1)
			if err != nil {
				return r.truncated(err, start, "block", r.off-start, int64(length))
			}
			ifc.ts = tsConvFrom(v[0])
		case code == optTsoffset && olen == 8:
			v, err := r.peek(8)
			if err != nil {
				return r.truncated(err, start, "block", r.off-start+int64(len(v)), int64(length))
			}
			if r.big {
				ifc.offset = int64(uint64(r.u32(v[0:4]))<<32 | uint64(r.u32(v[4:8])))
			} else {
				ifc.offset = int64(uint64(r.u32(v[4:8]))<<32 | uint64(r.u32(v[0:4])))
			}
		}
		if _, err := r.skip(padded); err != nil {
			return r.truncated(err, start, "block", r.off-start, int64(length))
		}
	}
	if len(r.ifaces) >= maxInterfaces {
		return r.formatError(start, fmt.Sprintf("more than %d interfaces in one section", maxInterfaces))
	}
	if err := r.endBlock(start, length); err != nil {
		return err
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// readEPB reads an Enhanced Packet Block or an obsolete Packet Block, which
// differ only in the width of the interface ID (32 bits, or 16 bits followed
// by a drop count).
func (r *Reader) readEPB(p *Packet, start int64, typ, length uint32) (bool, error) {
	if err := r.checkLength(start, length, epbMin); err != nil {
		return false, err
	}
	h, err := r.peek(epbFixed)
	if err != nil {
		return false, r.truncated(err, start, "block", int64(len(h)), int64(length))
	}
	id := r.u32(h[8:12])
	if typ == blockOPB {
		id = uint32(r.u16(h[8:10]))
	}
	units := uint64(r.u32(h[12:16]))<<32 | uint64(r.u32(h[16:20]))
	caplen, origlen := r.u32(h[20:24]), r.u32(h[24:28])
	if id >= uint32(len(r.ifaces)) {
		return false, r.formatError(start, fmt.Sprintf("packet on interface %d, but the section has %d", id, len(r.ifaces)))
	}
	if caplen > maxCapture {
		return false, r.formatError(start, fmt.Sprintf("captured length %d exceeds limit %d", caplen, maxCapture))
	}
	if caplen > origlen {
		return false, r.formatError(start, fmt.Sprintf("captured length %d exceeds original length %d", caplen, origlen))
	}
	if epbMin+(caplen+3)&^3 > length {
		return false, r.formatError(start, fmt.Sprintf("captured length %d overruns block length %d", caplen, length))
	}
	ifc := &r.ifaces[id]
	ts := int64(ifc.ts.nanos(units)) + ifc.offset*1e9
	return r.finishPacket(p, start, length, epbFixed, ifc, int(id), caplen, origlen, ts)
}

// readSPB reads a Simple Packet Block: a packet on interface 0 with no
// timestamp (Time is 0) and a captured length the block does not store
// (section 4.4): the smallest of the original length, the interface's
// snaplen and the room in the block.
func (r *Reader) readSPB(p *Packet, start int64, length uint32) (bool, error) {
	if err := r.checkLength(start, length, spbMin); err != nil {
		return false, err
	}
	h, err := r.peek(spbMin - 4)
	if err != nil {
		return false, r.truncated(err, start, "block", int64(len(h)), int64(length))
	}
	origlen := r.u32(h[8:12])
	if len(r.ifaces) == 0 {
		return false, r.formatError(start, "simple packet block, but the section has no interface")
	}
	ifc := &r.ifaces[0]
	caplen := min(origlen, length-spbMin)
	if ifc.snaplen != 0 {
		caplen = min(caplen, ifc.snaplen)
	}
	if caplen > maxCapture {
		return false, r.formatError(start, fmt.Sprintf("captured length %d exceeds limit %d", caplen, maxCapture))
	}
	return r.finishPacket(p, start, length, spbMin-4, ifc, 0, caplen, origlen, 0)
}

// finishPacket reads the data of a packet block whose fixed fields (fixed
// bytes from start, peeked, not consumed) have been checked, then the rest of
// the block.
func (r *Reader) finishPacket(p *Packet, start int64, length uint32, fixed int64, ifc *iface, id int, caplen, origlen uint32, ts int64) (bool, error) {
	if !ifc.link.IsSupported() {
		if err := r.endBlock(start, length); err != nil {
			return false, err
		}
		return false, &LinkTypeError{File: r.name, Offset: start, Link: ifc.link}
	}
	data, ok := r.room(int(caplen))
	if !ok {
		return false, nil
	}
	if _, err := r.skip(fixed); err != nil {
		return false, r.truncated(err, start, "block", r.off-start, int64(length))
	}
	if _, err := r.readFull(data); err != nil {
		return false, r.truncated(err, start, "block", r.off-start, int64(length))
	}
	if err := r.endBlock(start, length); err != nil {
		return false, err
	}
	*p = Packet{
		Data:      data,
		Length:    int(origlen),
		Time:      ts,
		Link:      ifc.link,
		Interface: id,
		Offset:    start,
	}
	return true, nil
}
