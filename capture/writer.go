package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hare-fw/hare/packet"
)

// Writer writes a pcapng file: one little-endian section, the interfaces
// added with AddInterface, and one Enhanced Packet Block per packet, with
// nanosecond timestamps (if_tsresol 9). It writes through a buffer: call
// Flush when done.
//
// A Writer is not safe for concurrent use. WritePacket does not allocate.
type Writer struct {
	bw      *bufio.Writer
	snaplen []uint32 // per interface, 0 meaning no limit
	hdr     [epbFixed]byte
}

// le is the byte order of everything a Writer writes. pcapng readers must
// take both; little endian is what nearly every machine writes natively.
var le = binary.LittleEndian

var zero4 [4]byte // padding

// NewWriter writes a Section Header Block to w and returns a Writer for the
// rest of the file. The caller keeps ownership of w.
func NewWriter(w io.Writer) (*Writer, error) {
	wr := &Writer{bw: bufio.NewWriterSize(w, bufSize)}
	const app = "hare"
	opts := optLen(len(app)) + 4 // shb_userappl, opt_endofopt
	length := shbMin + opts
	b := make([]byte, 0, length)
	b = le.AppendUint32(b, blockSHB)
	b = le.AppendUint32(b, uint32(length))
	b = le.AppendUint32(b, byteOrderMagic)
	b = le.AppendUint16(b, 1) // major
	b = le.AppendUint16(b, 0) // minor
	b = le.AppendUint64(b, math.MaxUint64)
	b = appendOpt(b, 4, app) // shb_userappl
	b = appendOpt(b, optEndOfOpt, "")
	b = le.AppendUint32(b, uint32(length))
	if _, err := wr.bw.Write(b); err != nil {
		return nil, err
	}
	return wr, nil
}

// optLen returns the bytes an option with an n-byte value takes.
func optLen(n int) int { return 4 + (n+3)&^3 }

func appendOpt(b []byte, code uint16, v string) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return append(b, zero4[:(4-len(v)%4)%4]...)
}

// AddInterface writes an Interface Description Block for packets of link
// type link, truncated to snaplen bytes (0 for no limit), and returns the
// index WritePacket takes. name, if not empty, becomes the if_name option.
func (w *Writer) AddInterface(link packet.LinkType, snaplen int, name string) (int, error) {
	if snaplen < 0 || snaplen > math.MaxUint32 {
		return 0, fmt.Errorf("capture: snaplen %d out of range", snaplen)
	}
	if len(name) > math.MaxUint16 {
		return 0, errors.New("capture: interface name longer than 65535 bytes")
	}
	if len(w.snaplen) >= maxInterfaces {
		return 0, fmt.Errorf("capture: more than %d interfaces", maxInterfaces)
	}
	opts := optLen(1) + 4 // if_tsresol, opt_endofopt
	if name != "" {
		opts += optLen(len(name))
	}
	length := idbMin + opts
	b := make([]byte, 0, length)
	b = le.AppendUint32(b, blockIDB)
	b = le.AppendUint32(b, uint32(length))
	b = le.AppendUint16(b, uint16(link))
	b = le.AppendUint16(b, 0) // reserved
	b = le.AppendUint32(b, uint32(snaplen))
	if name != "" {
		b = appendOpt(b, optName, name)
	}
	b = appendOpt(b, optTsresol, "\x09") // 10^-9: nanoseconds
	b = appendOpt(b, optEndOfOpt, "")
	b = le.AppendUint32(b, uint32(length))
	if _, err := w.bw.Write(b); err != nil {
		return 0, err
	}
	w.snaplen = append(w.snaplen, uint32(snaplen))
	return len(w.snaplen) - 1, nil
}

// WritePacket writes an Enhanced Packet Block for data, captured on interface
// iface at ts nanoseconds since the Unix epoch, origLen bytes long on the
// wire. It refuses what Reader would refuse to read back: a negative time,
// origLen below len(data), data longer than the interface's snaplen or than
// 256 KiB.
func (w *Writer) WritePacket(iface int, ts int64, data []byte, origLen int) error {
	switch {
	case iface < 0 || iface >= len(w.snaplen):
		return fmt.Errorf("capture: interface %d not added", iface)
	case ts < 0:
		return fmt.Errorf("capture: time %d before 1970", ts)
	case origLen < len(data) || origLen > math.MaxUint32:
		return fmt.Errorf("capture: original length %d out of range for %d captured bytes", origLen, len(data))
	case len(data) > maxCapture:
		return fmt.Errorf("capture: captured length %d exceeds limit %d", len(data), maxCapture)
	case w.snaplen[iface] != 0 && len(data) > int(w.snaplen[iface]):
		return fmt.Errorf("capture: captured length %d exceeds snaplen %d", len(data), w.snaplen[iface])
	}
	pad := (4 - len(data)%4) % 4
	length := uint32(epbMin + len(data) + pad)
	h := w.hdr[:]
	le.PutUint32(h[0:], blockEPB)
	le.PutUint32(h[4:], length)
	le.PutUint32(h[8:], uint32(iface))
	le.PutUint32(h[12:], uint32(uint64(ts)>>32))
	le.PutUint32(h[16:], uint32(ts))
	le.PutUint32(h[20:], uint32(len(data)))
	le.PutUint32(h[24:], uint32(origLen))
	w.bw.Write(h)
	w.bw.Write(data)
	w.bw.Write(zero4[:pad])
	le.PutUint32(h[0:], length)
	// bufio.Writer keeps the first error and returns it from every later
	// call, so checking the last write is enough.
	_, err := w.bw.Write(h[:4])
	return err
}

// Flush writes any buffered data to the underlying io.Writer.
func (w *Writer) Flush() error { return w.bw.Flush() }
