package capture

import (
	"strconv"

	"github.com/hare-fw/hare/packet"
)

// FormatError reports a capture file that does not follow the pcap or pcapng
// format: a truncated record, a length field out of range, an unknown magic
// number. Offset is the byte offset in the file of the start of the faulty
// record (pcap file header or record header, pcapng block), so that
// `dd skip=OFFSET` or a hex editor lands on the culprit.
//
// A FormatError from ReadBatch is fatal: every later ReadBatch returns it again.
type FormatError struct {
	File   string // name given to NewReader, or the path given to Open
	Offset int64  // start of the faulty record
	Msg    string // what is wrong, lowercase, no trailing period
}

// Error returns "FILE: byte OFFSET: MSG".
func (e *FormatError) Error() string {
	return e.File + ": byte " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// LinkTypeError reports packets of a link type that package packet cannot
// decode (packet.LinkType.IsSupported is false).
//
// For pcap, the link type is in the file header: NewReader returns a
// LinkTypeError with Offset 0 and no Reader. For pcapng, link types are per
// interface: ReadBatch returns a LinkTypeError at the first packet block on
// such an interface, with Offset the start of that block. It is not fatal
// there: the block has been consumed, and the next ReadBatch carries on with
// the following block, so a caller may count and skip such packets.
type LinkTypeError struct {
	File   string
	Offset int64
	Link   packet.LinkType
}

// Error returns "FILE: byte OFFSET: unsupported link type NUMBER (NAME)".
func (e *LinkTypeError) Error() string {
	return e.File + ": byte " + strconv.FormatInt(e.Offset, 10) +
		": unsupported link type " + strconv.Itoa(int(e.Link)) + " (" + e.Link.String() + ")"
}

var (
	_ error = (*FormatError)(nil)
	_ error = (*LinkTypeError)(nil)
)
