package capture_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
)

// wpkt is one packet to write: interface index, then WritePacket's arguments.
type wpkt struct {
	iface   int
	ts      int64
	data    []byte
	origLen int
}

// writerIfaces are the interfaces of the round-trip file: several link
// types, snaplens and names, and one that Reader refuses (USER0).
var writerIfaces = []struct {
	link    packet.LinkType
	snaplen int
	name    string
}{
	{packet.LinkEthernet, 0, "eth0"},
	{packet.LinkRaw, 128, ""},
	{packet.LinkLinuxSLL2, 65535, "any"},
	{147, 0, "usbmon0"}, // USER0
	{packet.LinkNFLOG, 262144, "nflog:2"},
}

// writerPackets covers every data padding (0..3), empty packets, a
// snaplen-sized one, truncated ones, the epoch and a far future time.
var writerPackets = []wpkt{
	{0, 1_700_000_000_123_456_789, seq(0x10, 60), 60},
	{1, 1_700_000_000_123_456_790, seq(0x20, 1), 1},
	{1, 1_700_000_000_123_456_791, seq(0x21, 128), 1500},
	{2, 0, seq(0x30, 2), 2},
	{2, 1<<62 + 7, seq(0x31, 3), 30},
	{0, 5, nil, 0},
	{0, 6, nil, 9000},
	{4, 1_700_000_001_000_000_000, seq(0x40, 4), 4},
	{4, 1_700_000_001_000_000_000, seq(0x41, capture.MaxCapture), capture.MaxCapture + 1},
}

// writeFile writes writerIfaces and the packets, and returns the file and
// the offset of each packet's block.
func writeFile(tb testing.TB, pkts []wpkt) ([]byte, []int64) {
	tb.Helper()
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	for i, ifc := range writerIfaces {
		id, err := w.AddInterface(ifc.link, ifc.snaplen, ifc.name)
		if err != nil || id != i {
			tb.Fatalf("AddInterface(%v) = %d, %v; want %d", ifc.link, id, err, i)
		}
	}
	var offs []int64
	for _, p := range pkts {
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		offs = append(offs, int64(buf.Len()))
		if err := w.WritePacket(p.iface, p.ts, p.data, p.origLen); err != nil {
			tb.Fatalf("WritePacket(%d, %d, %d bytes, %d): %v", p.iface, p.ts, len(p.data), p.origLen, err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), offs
}

// wantPackets returns what Reader must make of pkts written at offs.
func wantPackets(pkts []wpkt, offs []int64) []capture.Packet {
	var want []capture.Packet
	for i, p := range pkts {
		want = append(want, capture.Packet{
			Data:      append([]byte{}, p.data...),
			Length:    p.origLen,
			Time:      p.ts,
			Link:      writerIfaces[p.iface].link,
			Interface: p.iface,
			Offset:    offs[i],
		})
	}
	return want
}

func TestWriterRoundTrip(t *testing.T) {
	// A packet on the USER0 interface in the middle: Reader skips it with
	// a LinkTypeError.
	pkts := append(append(append([]wpkt{}, writerPackets[:3]...), wpkt{3, 1, seq(0, 10), 10}), writerPackets[3:]...)
	file, offs := writeFile(t, pkts)
	res, err := readBytes(t, file, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.err != io.EOF || len(res.linkErrs) != 1 || res.linkErrs[0] != offs[3] {
		t.Errorf("read ended with %v after LinkTypeErrors at %v; want io.EOF after one at %d", res.err, res.linkErrs, offs[3])
	}
	want := wantPackets(append(pkts[:3:3], pkts[4:]...), append(offs[:3:3], offs[4:]...))
	if d := diffPackets(want, res.pkts); d != "" {
		t.Error(d)
	}
	if d := diffPackets(want, refRead(file).res.pkts); d != "" {
		t.Errorf("reference reader: %s", d)
	}
}

func TestWriterErrors(t *testing.T) {
	w, err := capture.NewWriter(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(packet.LinkEthernet, 100, "eth0"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(packet.LinkRaw, -1, ""); err == nil {
		t.Error("AddInterface with snaplen -1 succeeded")
	}
	if _, err := w.AddInterface(packet.LinkRaw, 0, strings.Repeat("x", 1<<16)); err == nil {
		t.Error("AddInterface with a 64 KiB name succeeded")
	}
	tests := []struct {
		name string
		p    wpkt
		msg  string
	}{
		{"negative-interface", wpkt{-1, 1, nil, 0}, "interface -1 not added"},
		{"unknown-interface", wpkt{1, 1, nil, 0}, "interface 1 not added"},
		{"before-1970", wpkt{0, -1, nil, 0}, "before 1970"},
		{"origlen-below-caplen", wpkt{0, 1, seq(0, 10), 9}, "original length 9 out of range"},
		{"over-snaplen", wpkt{0, 1, seq(0, 101), 101}, "captured length 101 exceeds snaplen 100"},
		{"over-limit", wpkt{0, 1, make([]byte, capture.MaxCapture+1), capture.MaxCapture + 1}, "exceeds limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.WritePacket(tt.p.iface, tt.p.ts, tt.p.data, tt.p.origLen)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("WritePacket error %v, want one containing %q", err, tt.msg)
			}
		})
	}
}

// failWriter fails every write.
type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriterPropagatesWriteErrors(t *testing.T) {
	w, err := capture.NewWriter(failWriter{})
	if err != nil {
		t.Fatal(err) // buffered: nothing written yet
	}
	if _, err := w.AddInterface(packet.LinkEthernet, 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush = %v, want %v", err, errDiskFull)
	}
	if err := w.WritePacket(0, 1, seq(0, 10), 10); !errors.Is(err, errDiskFull) {
		t.Errorf("WritePacket after a failed Flush = %v, want %v", err, errDiskFull)
	}
}
