// Differential tests against gopacket's pcapgo, an independent reader.

package capture_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
)

// oraclePacket is a packet as pcapgo reads it.
type oraclePacket struct {
	data  []byte
	ci    gopacket.CaptureInfo
	link  packet.LinkType
	iface int
}

// pcapgoRead reads a whole capture with pcapgo: pcapgo.NewReader for pcap,
// pcapgo.NewNgReader with opts for pcapng.
func pcapgoRead(tb testing.TB, b []byte, opts pcapgo.NgReaderOptions) []oraclePacket {
	tb.Helper()
	var out []oraclePacket
	if bytes.HasPrefix(b, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(b), opts)
		if err != nil {
			tb.Fatalf("pcapgo.NewNgReader: %v", err)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				tb.Fatalf("pcapgo: packet %d: %v", len(out), err)
			}
			link := packet.LinkType(r.LinkType()) // first interface's, unless mixed
			if opts.WantMixedLinkType {
				link = linkOf(ci.AncillaryData[0])
			}
			out = append(out, oraclePacket{data: data, ci: ci, link: link, iface: ci.InterfaceIndex})
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("pcapgo.NewReader: %v", err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("pcapgo: packet %d: %v", len(out), err)
		}
		out = append(out, oraclePacket{data: data, ci: ci, link: packet.LinkType(r.LinkType())})
	}
}

// comparePcapgo compares the Reader's packets with pcapgo's. Times are
// compared unless skipTime says not to for that packet.
func comparePcapgo(t *testing.T, want []oraclePacket, got []capture.Packet, skipTime func(capture.Packet) bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d packets, pcapgo %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		switch {
		case !bytes.Equal(g.Data, w.data):
			t.Errorf("packet %d: data differs:\n pcapgo %x\n got    %x", i, w.data, g.Data)
		case g.Length != w.ci.Length:
			t.Errorf("packet %d: Length %d, pcapgo %d", i, g.Length, w.ci.Length)
		case len(g.Data) != w.ci.CaptureLength:
			t.Errorf("packet %d: %d bytes, pcapgo CaptureLength %d", i, len(g.Data), w.ci.CaptureLength)
		case g.Link != w.link:
			t.Errorf("packet %d: Link %v, pcapgo %v", i, g.Link, w.link)
		case g.Interface != w.iface:
			t.Errorf("packet %d: Interface %d, pcapgo %d", i, g.Interface, w.iface)
		case !skipTime(g) && g.Time != w.ci.Timestamp.UnixNano():
			t.Errorf("packet %d: Time %s, pcapgo %s", i, time.Unix(0, g.Time).UTC(), w.ci.Timestamp)
		}
	}
}

func never(capture.Packet) bool { return false }

// linkOf returns the link type pcapgo puts in CaptureInfo.AncillaryData.
func linkOf(v any) packet.LinkType {
	lt, ok := v.(layers.LinkType)
	if !ok {
		return 0xffff
	}
	return packet.LinkType(lt)
}

// TestPcapgoShared reads every shared capture with the Reader and with pcapgo
// (default options) and compares count, data, lengths, times and link types.
func TestPcapgoShared(t *testing.T) {
	paths := sharedCaptures(t)
	agree, pkts := 0, 0
	for _, path := range paths {
		ok := t.Run(filepath.Base(path), func(t *testing.T) {
			b := readFile(t, path)
			want := pcapgoRead(t, b, pcapgo.DefaultNgReaderOptions)
			got, err := readBytes(t, b, 64)
			if err != nil {
				t.Fatal(err)
			}
			if got.err != io.EOF || len(got.linkErrs) != 0 {
				t.Fatalf("read ended with %v after LinkTypeErrors at %v", got.err, got.linkErrs)
			}
			comparePcapgo(t, want, got.pkts, never)
			pkts += len(want)
		})
		if ok {
			agree++
		}
	}
	t.Logf("%d of %d shared captures (%d packets) agree with pcapgo", agree, len(paths), pkts)
}

// TestPcapgoWriterRoundTrip reads a file from Writer with pcapgo's NgReader.
// WantMixedLinkType is needed: without it pcapgo drops packets whose link
// type differs from the first interface's.
func TestPcapgoWriterRoundTrip(t *testing.T) {
	file, offs := writeFile(t, writerPackets)
	r, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	want := wantPackets(writerPackets, offs)
	for i, w := range want {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		link := ci.AncillaryData[0]
		if !bytes.Equal(data, w.Data) || ci.Length != w.Length || ci.Timestamp.UnixNano() != w.Time ||
			ci.InterfaceIndex != w.Interface || linkOf(link) != w.Link {
			t.Errorf("packet %d: pcapgo read %d bytes, %+v, link %v; want %d bytes, %+v", i, len(data), ci, link, len(w.Data), w)
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("after the last packet: %v, want io.EOF", err)
	}
	if n := r.NInterfaces(); n != len(writerIfaces) {
		t.Fatalf("pcapgo sees %d interfaces, want %d", n, len(writerIfaces))
	}
	for i, w := range writerIfaces {
		ifc, err := r.Interface(i)
		if err != nil {
			t.Fatal(err)
		}
		if uint16(ifc.LinkType) != uint16(w.link) || ifc.SnapLength != uint32(w.snaplen) || ifc.Name != w.name ||
			ifc.TimestampResolution != 9 {
			t.Errorf("interface %d: pcapgo reads %+v, want %+v with resolution 9", i, ifc, w)
		}
	}
}

// TestPcapgoHandBuilt checks the hand-built captures of the table tests
// against pcapgo, so that the builders are not only checked by the code they
// test. pcapgo turns a binary if_tsresol into an integer scale factor (2^-20 s
// becomes 953 ns, 2^-32 s becomes 1/4 ns), so times on such interfaces are
// left to the exact math/big reference reader; SPBs have no time at all.
func TestPcapgoHandBuilt(t *testing.T) {
	binaryRes := func(p capture.Packet) bool {
		return p.Link == packet.LinkLinuxSLL || p.Time == 0 // see richPcapng: section 2 is 2^-32, SPBs have no time
	}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"le-usec.pcap", richPcap(le, false)},
		{"be-nsec.pcap", richPcap(be, true)},
		{"rich.pcapng", richPcapng()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := pcapgoRead(t, tt.b, pcapgo.NgReaderOptions{WantMixedLinkType: true})
			got, err := readBytes(t, tt.b, 5)
			if err != nil || got.err != io.EOF {
				t.Fatalf("%v, %v", err, got.err)
			}
			comparePcapgo(t, want, got.pkts, binaryRes)
		})
	}
}
