package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hare-fw/hare/capture"
)

// Builders of pcap and pcapng byte streams, field by field, so that tests can
// state every byte they feed the Reader. They take the byte order explicitly:
// be and le below.
// order is a byte order that can also append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

var (
	be = binary.BigEndian
	le = binary.LittleEndian
)

// pcapHeader returns a pcap file header. linkField is the whole 32-bit
// LinkType field, FCS bits included.
func pcapHeader(o order, nanos bool, snaplen, linkField uint32) []byte {
	magic := uint32(0xa1b2c3d4) // µs
	if nanos {
		magic = 0xa1b23c4d
	}
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2) // major
	b = o.AppendUint16(b, 4) // minor
	b = o.AppendUint32(b, 0) // reserved1 (thiszone)
	b = o.AppendUint32(b, 0) // reserved2 (sigfigs)
	b = o.AppendUint32(b, snaplen)
	return o.AppendUint32(b, linkField)
}

// pcapRecord returns a record header and data.
func pcapRecord(o order, sec, frac uint32, data []byte, origLen uint32) []byte {
	b := o.AppendUint32(nil, sec)
	b = o.AppendUint32(b, frac)
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, origLen)
	return append(b, data...)
}

// pad4 pads b with zeros to a multiple of 4 bytes.
func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// ngOpt returns one pcapng option, padded.
func ngOpt(o order, code uint16, val []byte) []byte {
	b := o.AppendUint16(nil, code)
	b = o.AppendUint16(b, uint16(len(val)))
	return pad4(append(b, val...))
}

// ngEnd is opt_endofopt.
func ngEnd(o order) []byte { return ngOpt(o, 0, nil) }

// ngBlock frames body (padded to 4 bytes here) as a block of type typ.
func ngBlock(o order, typ uint32, body ...[]byte) []byte {
	all := pad4(bytes.Join(body, nil))
	n := uint32(12 + len(all))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, all...)
	return o.AppendUint32(b, n)
}

// ngSHB returns a Section Header Block, version 1.0, unknown section length.
func ngSHB(o order, opts ...[]byte) []byte {
	f := o.AppendUint32(nil, 0x1a2b3c4d)
	f = o.AppendUint16(f, 1)
	f = o.AppendUint16(f, 0)
	f = o.AppendUint64(f, ^uint64(0))
	return ngBlock(o, 0x0a0d0d0a, append([][]byte{f}, opts...)...)
}

// ngIDB returns an Interface Description Block.
func ngIDB(o order, link uint16, snaplen uint32, opts ...[]byte) []byte {
	f := o.AppendUint16(nil, link)
	f = o.AppendUint16(f, 0)
	f = o.AppendUint32(f, snaplen)
	return ngBlock(o, 1, append([][]byte{f}, opts...)...)
}

// ngEPB returns an Enhanced Packet Block; ts is in the interface's units.
func ngEPB(o order, iface uint32, ts uint64, data []byte, origLen uint32, opts ...[]byte) []byte {
	f := o.AppendUint32(nil, iface)
	f = o.AppendUint32(f, uint32(ts>>32))
	f = o.AppendUint32(f, uint32(ts))
	f = o.AppendUint32(f, uint32(len(data)))
	f = o.AppendUint32(f, origLen)
	f = pad4(append(f, data...))
	return ngBlock(o, 6, append([][]byte{f}, opts...)...)
}

// ngOPB returns an obsolete Packet Block (type 2).
func ngOPB(o order, iface uint16, ts uint64, data []byte, origLen uint32) []byte {
	f := o.AppendUint16(nil, iface)
	f = o.AppendUint16(f, 0) // drops count
	f = o.AppendUint32(f, uint32(ts>>32))
	f = o.AppendUint32(f, uint32(ts))
	f = o.AppendUint32(f, uint32(len(data)))
	f = o.AppendUint32(f, origLen)
	return ngBlock(o, 2, f, data)
}

// ngSPB returns a Simple Packet Block holding data (padded).
func ngSPB(o order, origLen uint32, data []byte) []byte {
	return ngBlock(o, 3, o.AppendUint32(nil, origLen), data)
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// seq returns n bytes counting up from start, so that misplaced data shows.
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// result is everything a Reader produced from one input.
type result struct {
	pkts     []capture.Packet // Data copied out of the arena
	linkErrs []int64          // offsets of the non-fatal LinkTypeErrors, in order
	err      error            // the error that ended reading: io.EOF, or a fatal one
}

// readAll reads r to its end with batches of batch packets, checking the
// ReadBatch contract on the way.
func readAll(tb testing.TB, r *capture.Reader, batch int) result {
	tb.Helper()
	var res result
	pkts := make([]capture.Packet, batch)
	for i := 0; ; i++ {
		if i > 1<<20 {
			tb.Fatal("ReadBatch makes no progress")
		}
		n, err := r.ReadBatch(pkts)
		if err != nil && n != 0 {
			tb.Fatalf("ReadBatch = %d, %v: an error must come with n == 0", n, err)
		}
		for _, p := range pkts[:n] {
			p.Data = bytes.Clone(p.Data)
			if p.Data == nil {
				p.Data = []byte{}
			}
			res.pkts = append(res.pkts, p)
		}
		var lt *capture.LinkTypeError
		switch {
		case err == nil:
			if n == 0 {
				tb.Fatal("ReadBatch = 0, nil")
			}
		case errors.As(err, &lt):
			res.linkErrs = append(res.linkErrs, lt.Offset)
		default:
			res.err = err
			// Fatal errors are sticky.
			if n2, err2 := r.ReadBatch(pkts); n2 != 0 || err2 != err {
				tb.Fatalf("ReadBatch after %v = %d, %v; want 0 and the same error", err, n2, err2)
			}
			return res
		}
	}
}

// readBytes reads b as a whole file named name: the NewReader error, or the
// result of reading it all.
func readBytes(tb testing.TB, b []byte, batch int) (result, error) {
	tb.Helper()
	r, err := capture.NewReader(bytes.NewReader(b), "test")
	if err != nil {
		if r != nil {
			tb.Fatalf("NewReader returned both a Reader and %v", err)
		}
		return result{}, err
	}
	return readAll(tb, r, batch), nil
}

// diffPackets reports the first difference between two packet lists, or "".
func diffPackets(want, got []capture.Packet) string {
	for i := range min(len(want), len(got)) {
		w, g := want[i], got[i]
		switch {
		case !bytes.Equal(w.Data, g.Data):
			return fmt.Sprintf("packet %d: Data\n-want %x\n+got  %x", i, w.Data, g.Data)
		case w.Length != g.Length, w.Time != g.Time, w.Link != g.Link, w.Interface != g.Interface, w.Offset != g.Offset:
			w.Data, g.Data = nil, nil
			return fmt.Sprintf("packet %d:\n-want %+v\n+got  %+v", i, w, g)
		}
	}
	if len(want) != len(got) {
		return fmt.Sprintf("got %d packets, want %d", len(got), len(want))
	}
	return ""
}

// sharedDir is the shared capture corpus, outside this repository.
const sharedDir = "../../shared/testdata/pcaps"

// sharedCaptures returns the paths of the shared *.pcap and *.pcapng files,
// or skips tb if the corpus is absent.
func sharedCaptures(tb testing.TB) []string {
	tb.Helper()
	var paths []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(sharedDir, pat))
		if err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		tb.Skipf("no shared captures in %s (the shared corpus sits next to the repository, at /work/shared)", sharedDir)
	}
	return paths
}

// readFileErr is os.ReadFile.
func readFileErr(path string) ([]byte, error) { return os.ReadFile(path) }

// readFile returns the contents of path or fails tb.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// sameErr reports whether two errors have the same type and offset (for
// FormatError and LinkTypeError) or are equal.
func sameErr(a, b error) bool {
	var fa, fb *capture.FormatError
	if errors.As(a, &fa) && errors.As(b, &fb) {
		return fa.Offset == fb.Offset
	}
	var la, lb *capture.LinkTypeError
	if errors.As(a, &la) && errors.As(b, &lb) {
		return la.Offset == lb.Offset && la.Link == lb.Link
	}
	return a == b
}

// richPcapng returns a pcapng file with one of everything: two sections of
// opposite byte orders, interfaces with options and different link types and
// resolutions, EPB (with options), SPB, OPB, and blocks to skip.
func richPcapng() []byte {
	return cat(
		ngSHB(le, ngOpt(le, 1, []byte("rich")), ngEnd(le)),
		ngIDB(le, 1, 0, ngOpt(le, 2, []byte("eth0")), ngEnd(le)),
		ngIDB(le, 101, 128, ngOpt(le, 9, []byte{9}), ngOpt(le, 14, le.AppendUint64(nil, 10)), ngEnd(le)),
		ngEPB(le, 0, 1_700_000_000_000_001, seq(0x10, 42), 42, ngOpt(le, 1, []byte("hi")), ngEnd(le)),
		ngBlock(le, 4, le.AppendUint16(nil, 1), le.AppendUint16(nil, 6), []byte{10, 0, 0, 1, 'a', 0}, ngEnd(le)),
		ngEPB(le, 1, 1_700_000_000_000_000_002, seq(0x20, 33), 33),
		ngSPB(le, 60, seq(0x30, 60)),
		ngBlock(le, 5, le.AppendUint32(nil, 1), le.AppendUint64(nil, 9)),
		ngOPB(le, 1, 77, seq(0x40, 7), 9),
		ngSHB(be),
		ngIDB(be, uint16(113), 0, ngOpt(be, 9, []byte{0x80 | 32}), ngEnd(be)),
		ngEPB(be, 0, 3<<32|1<<31, seq(0x50, 16), 16),
		ngBlock(be, 0x40000bad, be.AppendUint32(nil, 32473)),
		ngEPB(be, 0, 5<<32, seq(0x60, 1), 1),
	)
}

// richPcap returns a pcap file of a few records of assorted lengths.
func richPcap(o order, nanos bool) []byte {
	b := pcapHeader(o, nanos, 65535, 1)
	for i := range 6 {
		b = append(b, pcapRecord(o, uint32(1_700_000_000+i), uint32(i*1000), seq(byte(i), i*i*7), uint32(i*i*7+i))...)
	}
	return b
}
