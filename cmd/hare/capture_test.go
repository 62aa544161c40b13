package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

var update = flag.Bool("update", false, "rewrite testdata/sample.pcapng and the golden outputs from the generators")

// samplePath is the committed sample capture, relative to this package.
const samplePath = "../../testdata/sample.pcapng"

// writeCapture returns frames as a pcapng file written by capture.Writer,
// with one interface per link type in order of first appearance.
func writeCapture(tb testing.TB, frames []packettest.Frame) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf)
	if err != nil {
		tb.Fatalf("NewWriter: %v", err)
	}
	ifaces := map[packet.LinkType]int{}
	for i, f := range frames {
		id, ok := ifaces[f.Link]
		if !ok {
			id, err = w.AddInterface(f.Link, 0, "")
			if err != nil {
				tb.Fatalf("AddInterface(%v): %v", f.Link, err)
			}
			ifaces[f.Link] = id
		}
		if err := w.WritePacket(id, f.Time, f.Data, len(f.Data)); err != nil {
			tb.Fatalf("WritePacket(frame %d): %v", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatalf("Flush: %v", err)
	}
	return buf.Bytes()
}

// writeTemp writes b to a file in a fresh temporary directory and returns
// its path.
func writeTemp(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestSampleCapture checks that testdata/sample.pcapng is exactly what the
// generator writes from packettest.Sample. With -update it rewrites it.
func TestSampleCapture(t *testing.T) {
	want := writeCapture(t, packettest.Sample())
	if *update {
		if err := os.WriteFile(samplePath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", samplePath, len(want))
		return
	}
	got, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./cmd/hare -run TestSampleCapture -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s (%d bytes) differs from what packettest.Sample generates (%d bytes); "+
			"if the change is intended, run: go test ./cmd/hare -run TestSampleCapture -update", samplePath, len(got), len(want))
	}
}

// pcapngRecord is a packet found by walkPcapng.
type pcapngRecord struct {
	end    int // offset just past the block
	wire   int // original length
	link   packet.LinkType
	capLen int
}

// walkPcapng lists the packets of a little-endian pcapng file with a
// minimal block walker of its own (draft-ietf-opsawg-pcapng §3-4), so the
// tests count packets independently of package capture. It stops at the
// first incomplete block.
func walkPcapng(tb testing.TB, b []byte) []pcapngRecord {
	tb.Helper()
	le := binary.LittleEndian
	var recs []pcapngRecord
	var links []packet.LinkType
	for off := 0; off+12 <= len(b); {
		typ, n := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			break
		}
		body := b[off+8 : off+n-4]
		switch typ {
		case 0x0a0d0d0a: // Section Header Block
			if le.Uint32(body) != 0x1a2b3c4d {
				tb.Fatalf("walkPcapng: only little-endian sections are supported")
			}
			links = links[:0]
		case 1: // Interface Description Block
			links = append(links, packet.LinkType(le.Uint16(body)))
		case 6: // Enhanced Packet Block
			iface := le.Uint32(body)
			recs = append(recs, pcapngRecord{end: off + n, link: links[iface], capLen: int(le.Uint32(body[12:])), wire: int(le.Uint32(body[16:]))})
		case 3: // Simple Packet Block
			recs = append(recs, pcapngRecord{end: off + n, link: links[0], capLen: min(int(le.Uint32(body)), n-16), wire: int(le.Uint32(body))})
		}
		off += n
	}
	return recs
}
