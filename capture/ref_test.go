package capture_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/big"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
)

// refRead is the slow reference reader that the streaming Reader is compared
// against (in the style of netip's parseIPSlow): it holds the whole file in
// memory, indexes it directly, and computes pcapng timestamps with math/big.
// It shares no code with the Reader; it only knows the same rules. Errors are
// compared by type and offset, not message.
func refRead(b []byte) ref {
	if len(b) < 4 {
		return ref{hdrErr: refFE(0)}
	}
	switch {
	case bytes.Equal(b[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		return refPcapng(b)
	case le.Uint32(b) == 0xa1b2c3d4, le.Uint32(b) == 0xa1b23c4d:
		return refPcap(b, le, le.Uint32(b) == 0xa1b23c4d)
	case be.Uint32(b) == 0xa1b2c3d4, be.Uint32(b) == 0xa1b23c4d:
		return refPcap(b, be, be.Uint32(b) == 0xa1b23c4d)
	}
	return ref{hdrErr: refFE(0)}
}

// ref is what refRead makes of a file.
type ref struct {
	hdrErr error   // the error NewReader should return, if any
	res    result  // what reading it all should give
	starts []int64 // start of every record or block, the file header first
	hdrEnd int64   // end of the pcap file header / first pcapng block
}

func refFE(off int64) error { return &capture.FormatError{File: "ref", Offset: off, Msg: "ref"} }

func refPcap(b []byte, o binary.ByteOrder, nanos bool) ref {
	var out ref
	if len(b) < 24 || o.Uint16(b[4:]) != 2 {
		out.hdrErr = refFE(0)
		return out
	}
	link := packet.LinkType(o.Uint32(b[20:]))
	if !link.IsSupported() {
		out.hdrErr = &capture.LinkTypeError{File: "ref", Offset: 0, Link: link}
		return out
	}
	out.starts = []int64{0}
	out.hdrEnd = 24
	pos := 24
	for {
		if pos == len(b) {
			out.res.err = io.EOF
			return out
		}
		out.starts = append(out.starts, int64(pos))
		if len(b)-pos < 16 {
			out.res.err = refFE(int64(pos))
			return out
		}
		h := b[pos : pos+16]
		caplen, origlen := int(o.Uint32(h[8:])), int(o.Uint32(h[12:]))
		if caplen > capture.MaxCapture || caplen > origlen || len(b)-pos-16 < caplen {
			out.res.err = refFE(int64(pos))
			return out
		}
		ts := int64(o.Uint32(h[0:])) * 1_000_000_000
		if nanos {
			ts += int64(o.Uint32(h[4:]))
		} else {
			ts += int64(o.Uint32(h[4:])) * 1000
		}
		out.res.pkts = append(out.res.pkts, capture.Packet{
			Data:   append([]byte{}, b[pos+16:pos+16+caplen]...),
			Length: origlen,
			Time:   ts,
			Link:   link,
			Offset: int64(pos),
		})
		pos += 16 + caplen
	}
}

type refIface struct {
	link    packet.LinkType
	snaplen int
	denom   *big.Int // units per second
	offset  int64
}

func refPcapng(b []byte) ref {
	var out ref
	var o binary.ByteOrder
	var ifaces []refIface
	fail := func(pos int) ref {
		if out.hdrEnd == 0 {
			return ref{hdrErr: refFE(0)}
		}
		out.res.err = refFE(int64(pos))
		return out
	}
	// whole reports whether the block at pos, length n, is all there and
	// ends with its length.
	whole := func(pos, n int) bool {
		return n <= len(b)-pos && o.Uint32(b[pos+n-4:]) == uint32(n)
	}
	for pos := 0; ; {
		if pos == len(b) {
			out.res.err = io.EOF
			return out
		}
		out.starts = append(out.starts, int64(pos))
		if len(b)-pos < 8 {
			return fail(pos)
		}
		if bytes.Equal(b[pos:pos+4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
			if len(b)-pos < 24 {
				return fail(pos)
			}
			switch {
			case bytes.Equal(b[pos+8:pos+12], []byte{0x1a, 0x2b, 0x3c, 0x4d}):
				o = be
			case bytes.Equal(b[pos+8:pos+12], []byte{0x4d, 0x3c, 0x2b, 0x1a}):
				o = le
			default:
				return fail(pos)
			}
			n := int(o.Uint32(b[pos+4:]))
			if n < 28 || n%4 != 0 || o.Uint16(b[pos+12:]) != 1 || !whole(pos, n) {
				return fail(pos)
			}
			ifaces = nil
			pos += n
			if out.hdrEnd == 0 {
				out.hdrEnd = int64(pos)
			}
			continue
		}
		typ, n := o.Uint32(b[pos:]), int(o.Uint32(b[pos+4:]))
		if n < 12 || n%4 != 0 {
			return fail(pos)
		}
		switch typ {
		case 6, 2: // EPB, obsolete PB
			if n < 32 || len(b)-pos < 28 {
				return fail(pos)
			}
			id := int(o.Uint32(b[pos+8:]))
			if typ == 2 {
				id = int(o.Uint16(b[pos+8:]))
			}
			units := uint64(o.Uint32(b[pos+12:]))<<32 | uint64(o.Uint32(b[pos+16:]))
			caplen, origlen := int(o.Uint32(b[pos+20:])), int(o.Uint32(b[pos+24:]))
			if id >= len(ifaces) || caplen > capture.MaxCapture || caplen > origlen ||
				32+(caplen+3)/4*4 > n || !whole(pos, n) {
				return fail(pos)
			}
			ifc := ifaces[id]
			if !ifc.link.IsSupported() {
				out.res.linkErrs = append(out.res.linkErrs, int64(pos))
				break
			}
			// ns = units * 1e9 / denom, rounded down, modulo 2^64.
			ns := new(big.Int).SetUint64(units)
			ns.Mul(ns, big.NewInt(1e9)).Div(ns, ifc.denom)
			ns.And(ns, new(big.Int).SetUint64(^uint64(0)))
			out.res.pkts = append(out.res.pkts, capture.Packet{
				Data:      append([]byte{}, b[pos+28:pos+28+caplen]...),
				Length:    origlen,
				Time:      int64(ns.Uint64()) + ifc.offset*1_000_000_000,
				Link:      ifc.link,
				Interface: id,
				Offset:    int64(pos),
			})
		case 3: // SPB
			if n < 16 || len(b)-pos < 12 || len(ifaces) == 0 {
				return fail(pos)
			}
			origlen := int(o.Uint32(b[pos+8:]))
			caplen := min(origlen, n-16)
			if ifaces[0].snaplen != 0 {
				caplen = min(caplen, ifaces[0].snaplen)
			}
			if caplen > capture.MaxCapture || !whole(pos, n) {
				return fail(pos)
			}
			if !ifaces[0].link.IsSupported() {
				out.res.linkErrs = append(out.res.linkErrs, int64(pos))
				break
			}
			out.res.pkts = append(out.res.pkts, capture.Packet{
				Data:   append([]byte{}, b[pos+12:pos+12+caplen]...),
				Length: origlen,
				Link:   ifaces[0].link,
				Offset: int64(pos),
			})
		case 1: // IDB
			if n < 20 || len(b)-pos < 16 {
				return fail(pos)
			}
			ifc := refIface{
				link:    packet.LinkType(o.Uint16(b[pos+8:])),
				snaplen: int(o.Uint32(b[pos+12:])),
				denom:   big.NewInt(1e6),
			}
			end := pos + n - 4
			for q := pos + 16; end-q >= 4; {
				if len(b)-q < 4 {
					return fail(pos)
				}
				code, olen := o.Uint16(b[q:]), int(o.Uint16(b[q+2:]))
				if code == 0 {
					break
				}
				padded := (olen + 3) / 4 * 4
				if 4+padded > end-q || len(b)-q-4 < olen {
					return fail(pos)
				}
				v := b[q+4 : q+4+olen]
				switch {
				case code == 9 && olen == 1:
					base := big.NewInt(10)
					if v[0]&0x80 != 0 {
						base = big.NewInt(2)
					}
					ifc.denom = new(big.Int).Exp(base, big.NewInt(int64(v[0]&0x7f)), nil)
				case code == 14 && olen == 8:
					ifc.offset = int64(o.Uint64(v))
				}
				q += 4 + padded
			}
			if len(ifaces) >= 1<<16 || !whole(pos, n) {
				return fail(pos)
			}
			ifaces = append(ifaces, ifc)
		default:
			if !whole(pos, n) {
				return fail(pos)
			}
		}
		pos += n
	}
}
