package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hare-fw/hare/capture"
)

// TestSharedCaptures reads every shared capture with the Reader and with the
// reference reader and compares every packet. (The comparison with gopacket's
// pcapgo, an implementation from another project, is TestPcapgoShared.)
func TestSharedCaptures(t *testing.T) {
	for _, path := range sharedCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := readAll(t, r, 64)
			if got.err != io.EOF || len(got.linkErrs) != 0 {
				t.Fatalf("read ended with %v after LinkTypeErrors at %v", got.err, got.linkErrs)
			}
			if r.Offset() != r.Size() {
				t.Errorf("Offset %d at EOF, Size %d", r.Offset(), r.Size())
			}
			want := refRead(readFile(t, path))
			if d := diffPackets(want.res.pkts, got.pkts); d != "" {
				t.Error(d)
			}
		})
	}
}

// cutCase is a capture for the truncation and corruption tests.
type cutCase struct {
	name string
	b    []byte
}

// cutCases returns hand-built captures and, if the shared corpus is there,
// a few small real ones, chosen to cover pcap in both time units and a
// two-interface pcapng.
func cutCases(t *testing.T) []cutCase {
	cs := []cutCase{
		{"built/rich.pcapng", richPcapng()},
		{"built/le-usec.pcap", richPcap(le, false)},
		{"built/be-nsec.pcap", richPcap(be, true)},
	}
	for _, f := range []string{
		"pcapng_two-interfaces_dns.pcapng",
		"linux-sll_tcp-handshake_nanosecond-pcap.pcap",
		"tcp_dns-over-tcp.pcap",
	} {
		b, err := readShared(f)
		if err != nil {
			t.Logf("%s: %v (shared corpus absent: testing built captures only)", f, err)
			continue
		}
		cs = append(cs, cutCase{"shared/" + f, b})
	}
	return cs
}

func readShared(name string) ([]byte, error) {
	return readFileErr(filepath.Join(sharedDir, name))
}

// TestTruncation cuts captures at every byte offset. Whatever the cut, the
// Reader must not panic, must return every packet whose record ends before
// the cut, intact, and then io.EOF if the cut falls on a record boundary or
// a *FormatError at the start of the record it cuts.
func TestTruncation(t *testing.T) {
	for _, c := range cutCases(t) {
		t.Run(c.name, func(t *testing.T) {
			full := refRead(c.b)
			if full.hdrErr != nil || full.res.err != io.EOF {
				t.Fatalf("reference reader on the whole file: %v, %v", full.hdrErr, full.res.err)
			}
			for cut := 0; cut <= len(c.b); cut++ {
				checkCut(t, c.b[:cut], full, int64(len(c.b)))
			}
		})
	}
}

// checkCut reads the file prefix b and checks it against what the whole
// file's records say it must give.
func checkCut(t *testing.T, b []byte, full ref, size int64) {
	t.Helper()
	cut := int64(len(b))
	got, err := readBytes(t, b, 3)
	if cut < full.hdrEnd {
		var fe *capture.FormatError
		if !errors.As(err, &fe) || fe.Offset != 0 {
			t.Fatalf("cut at %d, inside the file header: NewReader error %v, want a *FormatError at 0", cut, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("cut at %d: NewReader: %v", cut, err)
	}
	// The record the cut falls in starts at the last start <= cut.
	i, boundary := slices.BinarySearch(full.starts, cut)
	if !boundary {
		i--
	}
	recStart := full.starts[i]
	if cut == size {
		boundary = true
	}
	var want []capture.Packet
	for _, p := range full.res.pkts {
		if p.Offset < recStart || boundary && p.Offset < cut {
			want = append(want, p)
		}
	}
	if d := diffPackets(want, got.pkts); d != "" {
		t.Fatalf("cut at %d: %s", cut, d)
	}
	var fe *capture.FormatError
	switch {
	case boundary:
		if got.err != io.EOF {
			t.Fatalf("cut at %d, a record boundary: error %v, want io.EOF", cut, got.err)
		}
	case !errors.As(got.err, &fe) || fe.Offset != recStart:
		t.Fatalf("cut at %d: error %v, want a *FormatError at %d", cut, got.err, recStart)
	}
}

// TestCorruptLengths sets the length fields of each record in turn to values
// a flipped bit or a bad writer could leave, and checks that the fault is
// reported at that record, after all the packets before it.
func TestCorruptLengths(t *testing.T) {
	for _, c := range cutCases(t) {
		t.Run(c.name, func(t *testing.T) {
			full := refRead(c.b)
			isPcap := !bytes.HasPrefix(c.b, []byte{0x0a, 0x0d, 0x0d, 0x0a})
			for _, start := range full.starts {
				if start < full.hdrEnd {
					continue // the file header: NewReader's business, see TestReadErrors
				}
				var o binary.ByteOrder = le
				if sectionOrder(c.b, start) {
					o = be
				}
				var muts []func(b []byte)
				if isPcap {
					muts = []func(b []byte){
						func(b []byte) { o.PutUint32(b[start+8:], 0x7fffffff) },                      // caplen huge
						func(b []byte) { o.PutUint32(b[start+8:], o.Uint32(b[start+12:])+1) },        // caplen > origlen
						func(b []byte) { o.PutUint32(b[start+8:], capture.MaxCapture+1) },            // just over the limit
						func(b []byte) { o.PutUint32(b[start+12:], 0); o.PutUint32(b[start+8:], 1) }, // origlen 0
					}
				} else {
					if bytes.Equal(c.b[start:start+4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
						continue // a later SHB: its length is read in its own byte order, covered by TestReadErrors
					}
					n := int64(o.Uint32(c.b[start+4:]))
					muts = []func(b []byte){
						func(b []byte) { o.PutUint32(b[start+4:], 8) },             // below minimum
						func(b []byte) { o.PutUint32(b[start+4:], uint32(n+2)) },   // not a multiple of 4
						func(b []byte) { o.PutUint32(b[start+4:], 0xfffffff0) },    // runs past the end
						func(b []byte) { o.PutUint32(b[start+4:], uint32(n+4)) },   // disagrees with the trailer
						func(b []byte) { o.PutUint32(b[start+n-4:], uint32(n-4)) }, // trailer disagrees
					}
				}
				for mi, mut := range muts {
					b := bytes.Clone(c.b)
					mut(b)
					got, err := readBytes(t, b, 4)
					if err != nil {
						t.Fatalf("record at %d, mutation %d: NewReader: %v", start, mi, err)
					}
					var want []capture.Packet
					for _, p := range full.res.pkts {
						if p.Offset < start {
							want = append(want, p)
						}
					}
					if d := diffPackets(want, got.pkts); d != "" {
						t.Errorf("record at %d, mutation %d: %s", start, mi, d)
					}
					var fe *capture.FormatError
					if !errors.As(got.err, &fe) || fe.Offset != start {
						t.Errorf("record at %d, mutation %d: error %v, want a *FormatError at %d", start, mi, got.err, start)
					}
				}
			}
		})
	}
}

// sectionOrder reports whether the record at off is big endian: for pcap,
// the file's order; for pcapng, that of the last SHB at or before off.
func sectionOrder(b []byte, off int64) bool {
	if !bytes.HasPrefix(b, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		return b[0] == 0xa1
	}
	big := false
	for _, s := range refRead(b).starts {
		if s > off {
			break
		}
		if bytes.Equal(b[s:s+4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
			big = b[s+8] == 0x1a
		}
	}
	return big
}
