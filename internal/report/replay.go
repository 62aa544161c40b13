package report

import (
	"errors"
	"fmt"
	"io"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
)

// BatchSize is the number of packets Replay asks a reader for at once when
// the caller does not say.
const BatchSize = 64

// MaxBatchSize bounds the batch size Replay accepts.
const MaxBatchSize = 4096

// Replay reads r from its current position to its end, batch by batch,
// decodes every packet into one reused packet.Parsed, adds it to s, and
// appends a File named path to s.Files.
//
// batch is the number of packets per read (BatchSize when batch <= 0,
// MaxBatchSize at most). progress, when not nil, is called after every
// batch with the reader's offset; it is the caller's hook for a progress
// line and runs on the caller's goroutine.
//
// A packet the reader skips because package packet cannot decode its link
// type (*capture.LinkTypeError from ReadBatch) is counted with AddUnsupported
// and reading goes on. Replay returns nil when the capture ended cleanly,
// and otherwise the reader's error (a *capture.FormatError for a corrupt or truncated file),
// which it also records in the File. Packets read before the error are
// counted either way. With s.Track set, every packet also goes through
// connection tracking (see Tracker), with a fresh table for this capture.
// The loop allocates nothing per packet.
func (s *Summary) Replay(r *capture.Reader, path string, batch int, progress func(offset int64)) error {
	if batch <= 0 {
		batch = BatchSize
	}
	batch = min(batch, MaxBatchSize)
	s.Files = append(s.Files, File{Path: path, Format: r.Format()})
	f := &s.Files[len(s.Files)-1]

	if s.Track != nil {
		s.Track.begin(path)
		defer s.Track.end()
	}
	pkts := make([]capture.Packet, batch)
	var p packet.Parsed // one per replay, reused for every packet
	// Declared once: errors.As takes its address, which would make a
	// declaration inside the loop allocate per batch.
	var lte *capture.LinkTypeError
	for {
		n, err := r.ReadBatch(pkts)
		for i := range pkts[:n] {
			pk := &pkts[i]
			p.Decode(pk.Data, pk.Link)
			s.Add(&p, pk.Length, len(pk.Data), pk.Time)
			f.Packets++
			f.Bytes += uint64(pk.Length)
			if s.Track != nil {
				s.Track.packet(f.Packets, &p, pk.Time)
			}
		}
		if s.Track != nil {
			s.Track.batch()
		}
		if progress != nil {
			progress(r.Offset())
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &lte):
			// A pcapng packet on an interface whose link type package
			// packet cannot decode: the reader skipped it and goes on.
			s.AddUnsupported(lte.Link)
			f.Packets++
			if s.Track != nil {
				s.Track.skipped(f.Packets)
			}
			continue
		default:
			f.Err = err
			return err
		}
		if n == 0 {
			// ReadBatch returns (0, nil) only for an empty pkts; anything
			// else would spin here forever.
			f.Err = fmt.Errorf("byte %d: capture reader returned no packets and no error", r.Offset())
			return f.Err
		}
	}
}
