// Package capture reads pcap and pcapng capture files, batch by batch in
// constant memory, and writes pcapng files.
//
// # Reading
//
// Open (or NewReader) detects the format by its magic number and reads the
// file header. ReadBatch then fills a caller-owned []Packet:
//
//	r, err := capture.Open(path)
//	if err != nil { ... }
//	defer r.Close()
//	pkts := make([]capture.Packet, 64)
//	for {
//		n, err := r.ReadBatch(pkts)
//		for _, p := range pkts[:n] {
//			// p.Data is valid until the next ReadBatch.
//		}
//		if err == io.EOF {
//			break
//		}
//		if err != nil { ... } // *FormatError, *LinkTypeError, or I/O
//	}
//
// ReadBatch returns an error only with n == 0: the good packets before a
// fault come first, with a nil error, and the fault on the next call.
//
// Memory does not grow with the file: the file goes through a 64 KiB
// bufio.Reader, and the Data of a batch is copied into one arena per Reader,
// at most 1 MiB, reused by the next ReadBatch. A batch that would overflow
// the arena comes back short. No record may claim more than 256 KiB of
// captured bytes (libpcap's MAXIMUM_SNAPLEN), so a corrupt length field is a
// *FormatError, not a giant allocation. Once warmed up, ReadBatch does not
// allocate.
//
// # Formats
//
// pcap (draft-ietf-opsawg-pcap): both byte orders, microsecond
// (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magic, link type from the low 16
// bits of the header's LinkType field (the FCS length bits above are
// ignored, any FCS stays in Data). The header's snaplen is not a limit:
// writers such as dpkt write records longer than the snaplen they declare,
// and libpcap reads them. A link type that package packet does not support
// fails NewReader with a *LinkTypeError.
//
// pcapng (draft-ietf-opsawg-pcapng): any number of sections, each in either
// byte order; Interface Description Blocks with if_tsresol (powers of 10
// and of 2) and if_tsoffset; Enhanced, Simple and obsolete Packet Blocks.
// Every other block type is skipped by its length, after checking that its
// leading and trailing lengths agree. Packet.Interface is the interface's
// index within its section. Simple Packet Blocks carry no timestamp: their
// Time is 0. An interface of an unsupported link type is accepted, since
// files often declare interfaces they never use; a packet on it is skipped
// with a *LinkTypeError that does not stop the Reader.
//
// # Writing
//
// Writer writes a little-endian pcapng file with nanosecond timestamps
// (if_tsresol 9): NewWriter, AddInterface for each interface, WritePacket,
// Flush. Anything it writes, Reader reads back.
package capture
