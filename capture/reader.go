package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hare-fw/hare/packet"
)

// Limits that keep a Reader's memory constant whatever the file claims.
const (
	// maxCapture is the largest captured length a record may claim. It is
	// libpcap's MAXIMUM_SNAPLEN (262144): no capture tool writes more per
	// packet, so anything larger is a corrupt length field, and refusing it
	// is what stops a flipped bit from asking for gigabytes.
	maxCapture = 256 << 10

	// bufSize is the bufio buffer between the file and the parser. 64 KiB
	// makes one read(2) per 64 KiB of file and is far above the largest
	// Peek (28 bytes of pcapng block header).
	bufSize = 64 << 10

	// minArena and maxArena bound the per-Reader packet arena. It starts
	// small (fuzzing and tiny files stay cheap) and doubles while batches do
	// not fit, up to maxArena; past that, batches come back short instead.
	// maxArena must be at least maxCapture so that one packet always fits.
	// 1 MiB holds a batch of 64 full-size Ethernet frames, twice over.
	minArena = 64 << 10
	maxArena = 1 << 20

	// maxInterfaces bounds the interfaces of one pcapng section, so a file of
	// nothing but Interface Description Blocks cannot grow the table without
	// limit. OPB interface IDs are 16 bits wide; real files have a handful.
	maxInterfaces = 1 << 16
)

// Packet is one captured packet.
type Packet struct {
	Data      []byte          // captured bytes; aliases the Reader's buffer, valid until the next ReadBatch
	Length    int             // original length on the wire
	Time      int64           // capture time in nanoseconds since the Unix epoch
	Link      packet.LinkType // link type of the interface it was captured on
	Interface int             // pcapng interface index; 0 for pcap
	Offset    int64           // byte offset in the file of this packet's record (pcap record header / pcapng block)
}

type format uint8

const (
	formatPcap format = iota + 1
	formatPcapng
)

// errClosed is returned by ReadBatch after Close.
var errClosed = errors.New("capture: reader closed")

// Reader streams packets out of a pcap or pcapng file, one batch at a time,
// in constant memory: a 64 KiB read buffer plus a packet arena of at most
// 1 MiB, whatever the size of the file.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	name   string
	br     *bufio.Reader
	closer io.Closer // the file opened by Open; nil for NewReader
	size   int64     // file size, or -1
	off    int64     // bytes consumed from br
	format format
	big    bool // current byte order is big endian (pcap: the file's; pcapng: the section's)

	// err is returned by the next ReadBatch. It is sticky (returned by every
	// later call) unless it is a pcapng LinkTypeError, see LinkTypeError.
	err    error
	sticky bool

	// arena holds the Data of the current batch; used bytes of it are taken.
	arena []byte
	used  int
	grow  int // size the arena should have at the next batch

	// pcap only.
	link  packet.LinkType
	nanos bool // timestamps are sec + ns, not sec + µs

	// pcapng only: the interfaces of the current section, in IDB order.
	ifaces []iface
}

// Open opens the capture file at path and reads its file header (pcap) or
// first Section Header Block (pcapng), detected by the magic number. Errors
// name path. The Reader owns the file: Close closes it.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *os.PathError, names path
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		r.size = fi.Size()
	}
	return r, nil
}

// NewReader reads a pcap file header or a pcapng Section Header Block from rd
// and returns a Reader for the packets that follow. name is used in errors
// only. The caller keeps ownership of rd: Close does not close it.
//
// NewReader returns a *FormatError for anything but a well-formed pcap or
// pcapng header, and a *LinkTypeError for a pcap file of an unsupported link
// type.
func NewReader(rd io.Reader, name string) (*Reader, error) {
	r := &Reader{name: name, br: bufio.NewReaderSize(rd, bufSize), size: -1, sticky: true, grow: minArena}
	m, err := r.br.Peek(4)
	if err != nil {
		return nil, r.truncated(err, 0, "magic number", int64(len(m)), 4)
	}
	// The pcapng SHB type 0x0a0d0d0a reads the same in both byte orders; the
	// pcap magics are told apart by the order their bytes come in.
	switch magic := binary.BigEndian.Uint32(m); magic {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		r.format = formatPcap
		r.big = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d
		r.nanos = magic == 0xa1b23c4d || magic == 0x4d3cb2a1
		err = r.readPcapHeader()
	case blockSHB:
		r.format = formatPcapng
		err = r.readSHB(0)
	default:
		msg := fmt.Sprintf("unknown magic number %#08x: not a pcap or pcapng file", magic)
		if magic>>16 == 0x1f8b {
			msg = "gzip-compressed file: decompress it first"
		}
		err = r.formatError(0, msg)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ReadBatch reads packets into pkts and returns how many it filled.
//
// The error contract is the simple half of io.Reader's: ReadBatch returns a
// non-nil error only together with n == 0. A batch that ends because of the
// end of the file or a fault returns the good packets before it with a nil
// error, and the next call returns (0, err). So "process pkts[:n], then look
// at err" and "look at err, then process pkts[:n]" are both correct. err is
//   - io.EOF at a clean end of file, that is at a record boundary;
//   - a *FormatError at a truncated or corrupt record, fatal;
//   - a *LinkTypeError for a pcapng packet on an interface whose link type is
//     not supported; not fatal, the next call continues after that packet;
//   - an error wrapping the underlying reader's error, fatal.
//
// ReadBatch may fill fewer than len(pkts) packets with a nil error when the
// arena is full (large packets); that says nothing about the end of the file.
// With len(pkts) == 0 it reads nothing and returns (0, nil).
//
// Each Data aliases the Reader's arena and is valid until the next ReadBatch,
// which reuses it; copy what must live longer. Data has its capacity clipped
// to its length, so appending to it cannot overwrite another packet.
// ReadBatch does not allocate once the arena has grown to the batch's needs.
func (r *Reader) ReadBatch(pkts []Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	if r.err != nil {
		return 0, r.takeErr()
	}
	r.used = 0
	if r.grow > len(r.arena) {
		r.arena = make([]byte, r.grow)
	}
	n := 0
	for n < len(pkts) {
		var ok bool
		var err error
		switch r.format {
		case formatPcap:
			ok, err = r.nextPcap(&pkts[n])
		default:
			ok, err = r.nextPcapng(&pkts[n])
		}
		if err != nil {
			_, lt := err.(*LinkTypeError)
			r.err, r.sticky = err, !lt
			break
		}
		if !ok {
			break // arena full
		}
		n++
	}
	if n == 0 && r.err != nil {
		return 0, r.takeErr()
	}
	return n, nil
}

func (r *Reader) takeErr() error {
	err := r.err
	if !r.sticky {
		r.err = nil
		r.sticky = true
	}
	return err
}

// Format returns "pcap" or "pcapng".
func (r *Reader) Format() string {
	if r.format == formatPcap {
		return "pcap"
	}
	return "pcapng"
}

// Offset returns the number of bytes of the file consumed so far, for
// progress display. After ReadBatch it is the end of the last record read.
func (r *Reader) Offset() int64 { return r.off }

// Size returns the size of the file if Open could stat it, else -1.
func (r *Reader) Size() int64 { return r.size }

// Close closes the file opened by Open; for a Reader from NewReader it closes
// nothing. After Close, ReadBatch returns an error. Close is idempotent.
func (r *Reader) Close() error {
	r.err, r.sticky = errClosed, true
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}

// room returns n bytes of arena for the next packet, or false if the arena
// is full and the batch must end first.
//
// The arena starts at minArena. A packet that does not fit ends the batch and
// asks for an arena twice as large, up to maxArena, at the start of the next
// one; so only one arena is ever live, and once batches fit (or the arena is
// at its maximum) nothing is allocated any more.
func (r *Reader) room(n int) ([]byte, bool) {
	if r.used+n > len(r.arena) {
		if r.used > 0 {
			r.grow = min(max(2*len(r.arena), minArena), maxArena)
			return nil, false
		}
		// The first packet of a batch always fits: n <= maxCapture <= maxArena.
		r.arena = make([]byte, max(n, min(2*len(r.arena), maxArena)))
	}
	b := r.arena[r.used : r.used+n : r.used+n]
	r.used += n
	return b, true
}

// peek returns the next n (at most bufSize) bytes without consuming them.
func (r *Reader) peek(n int) ([]byte, error) { return r.br.Peek(n) }

// skip consumes n bytes, which callers have peeked or do not need.
func (r *Reader) skip(n int64) (int64, error) {
	var done int64
	for done < n {
		// Discard takes an int; chunk so a 32-bit int cannot overflow.
		d, err := r.br.Discard(int(min(n-done, 1<<30)))
		done += int64(d)
		r.off += int64(d)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// readFull reads len(b) bytes into b.
func (r *Reader) readFull(b []byte) (int, error) {
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	return n, err
}

func (r *Reader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) formatError(off int64, msg string) error {
	return &FormatError{File: r.name, Offset: off, Msg: msg}
}

// truncated turns a short read of a record starting at off into a
// FormatError ("WHAT truncated: GOT of WANT bytes"). Any error other than an
// end of file is the underlying reader's own, wrapped with the position.
func (r *Reader) truncated(err error, off int64, what string, got, want int64) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF || err == nil {
		return r.formatError(off, fmt.Sprintf("%s truncated: %d of %d bytes", what, got, want))
	}
	return fmt.Errorf("capture: read %s at byte %d: %w", r.name, r.off, err)
}
