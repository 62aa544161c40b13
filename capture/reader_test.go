package capture_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
)

func TestReadPcap(t *testing.T) {
	// Each case builds the file from its parts, so Offsets below are sums of
	// the lengths of the parts before a record.
	hdrLE := pcapHeader(le, false, 65535, 1)
	lr1 := pcapRecord(le, 1_700_000_000, 123_456, seq(0x10, 60), 60)
	lr2 := pcapRecord(le, 1_700_000_001, 999_999, seq(0x20, 4), 1514) // truncated by snaplen
	lr3 := pcapRecord(le, 0, 0, nil, 0)                               // empty record at the epoch

	hdrBE := pcapHeader(be, true, 262144, 101)
	br1 := pcapRecord(be, 4_000_000_000, 999_999_999, seq(0x45, 20), 40) // seconds past 2038: unsigned

	// FCS length 2 words (bits 28-31), P bit (26), and a reserved bit (16):
	// only the low 16 bits are the link type.
	hdrFCS := pcapHeader(le, true, 65535, 0x2<<28|1<<26|1<<16|uint32(packet.LinkLinuxSLL2))
	fr1 := pcapRecord(le, 1, 2, seq(0, 24), 24)

	tests := []struct {
		name string
		in   []byte
		want []capture.Packet
	}{
		{
			name: "le-usec-ethernet",
			in:   cat(hdrLE, lr1, lr2, lr3),
			want: []capture.Packet{
				{Data: seq(0x10, 60), Length: 60, Time: 1_700_000_000_123_456_000, Link: packet.LinkEthernet, Offset: 24},
				{Data: seq(0x20, 4), Length: 1514, Time: 1_700_000_001_999_999_000, Link: packet.LinkEthernet, Offset: 24 + 76},
				{Data: []byte{}, Length: 0, Time: 0, Link: packet.LinkEthernet, Offset: 24 + 76 + 20},
			},
		},
		{
			name: "be-nsec-raw",
			in:   cat(hdrBE, br1),
			want: []capture.Packet{
				{Data: seq(0x45, 20), Length: 40, Time: 4_000_000_000_999_999_999, Link: packet.LinkRaw, Offset: 24},
			},
		},
		{
			name: "le-nsec-fcs-bits",
			in:   cat(hdrFCS, fr1),
			want: []capture.Packet{
				{Data: seq(0, 24), Length: 24, Time: 1_000_000_002, Link: packet.LinkLinuxSLL2, Offset: 24},
			},
		},
		{
			name: "be-usec-no-records",
			in:   pcapHeader(be, false, 65535, uint32(packet.LinkNull)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := readBytes(t, tt.in, 2)
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			if res.err != io.EOF {
				t.Fatalf("read error %v, want io.EOF", res.err)
			}
			if d := diffPackets(tt.want, res.pkts); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestReadPcapng(t *testing.T) {
	// Case "le-two-interfaces": comments and options everywhere, and every
	// kind of block the Reader must skip.
	shb := ngSHB(le, ngOpt(le, 1, []byte("built by hand")), ngOpt(le, 4, []byte("capture_test")), ngEnd(le))
	idbEth := ngIDB(le, 1, 0, ngOpt(le, 2, []byte("eth0")), ngEnd(le)) // default if_tsresol: µs
	idbRaw := ngIDB(le, 101, 65535,
		ngOpt(le, 1, []byte("raw, ns")), // comment before if_tsresol
		ngOpt(le, 9, []byte{9}),         // if_tsresol 10^-9
		ngOpt(le, 12, []byte("Linux")),  // if_os
		ngEnd(le))
	epb0 := ngEPB(le, 0, 1_700_000_000_123_456, seq(0x10, 61), 61,
		ngOpt(le, 1, []byte("packet comment")), ngOpt(le, 2, le.AppendUint32(nil, 1)), ngEnd(le))
	nrb := ngBlock(le, 4, le.AppendUint16(nil, 1), le.AppendUint16(nil, 8), []byte{10, 0, 0, 1, 'a', '.', 'b', 0}, ngEnd(le))
	isb := ngBlock(le, 5, le.AppendUint32(nil, 0), le.AppendUint64(nil, 7), ngOpt(le, 4, le.AppendUint64(nil, 3)), ngEnd(le))
	dsb := ngBlock(le, 10, le.AppendUint32(nil, 0x544c534b), le.AppendUint32(nil, 5), []byte("keys!"))
	custom := ngBlock(le, 0x00000bad, le.AppendUint32(nil, 32473), []byte("private enterprise data"))
	future := ngBlock(le, 0x7fff0001)                                // empty body, unknown type
	epb1 := ngEPB(le, 1, 1_700_000_000_000_000_001, seq(0x45, 3), 3) // data padded by 1
	epbEmpty := ngEPB(le, 0, 5, nil, 0)
	le2 := cat(shb, idbEth, idbRaw, epb0, nrb, isb, dsb, custom, future, epb1, epbEmpty)
	off := func(parts ...[]byte) int64 { return int64(len(cat(parts...))) }

	// Case "be-spb-opb-binary-resolution": 2^-20 s units, a 1e6 s offset,
	// SPBs cut by the snaplen and by their original length, an OPB.
	bshb := ngSHB(be)
	bidb := ngIDB(be, uint16(packet.LinkLinuxSLL), 64,
		ngOpt(be, 9, []byte{0x80 | 20}),                // if_tsresol 2^-20
		ngOpt(be, 14, be.AppendUint64(nil, 1_000_000)), // if_tsoffset
		ngEnd(be))
	spbSnap := ngSPB(be, 100, seq(1, 64))            // 100 on the wire, 64 = snaplen kept
	spbShort := ngSPB(be, 10, seq(2, 10))            // padded to 12 in the block
	opb := ngOPB(be, 0, 3<<20|1<<19, seq(3, 20), 20) // 3.5 s
	bepb := ngEPB(be, 0, 1, seq(4, 5), 9)            // 2^-20 s = 953.67 ns
	be1 := cat(bshb, bidb, spbSnap, spbShort, opb, bepb)
	const sec = 1_000_000_000

	// Case "two-sections": the second section is big endian and starts its
	// own interface numbering.
	s2 := cat(ngSHB(le), ngIDB(le, 1, 0), ngEPB(le, 0, 2_000_000, seq(9, 14), 14),
		ngSHB(be), ngIDB(be, uint16(packet.LinkLinuxSLL2), 0, ngOpt(be, 9, []byte{3}), ngEnd(be)),
		ngEPB(be, 0, 1500, seq(8, 20), 20))
	s2off := off(ngSHB(le), ngIDB(le, 1, 0), ngEPB(le, 0, 2_000_000, seq(9, 14), 14), ngSHB(be), ngIDB(be, uint16(packet.LinkLinuxSLL2), 0, ngOpt(be, 9, []byte{3}), ngEnd(be)))

	// Case "unused-unsupported-interface": USER0 is declared, never used.
	uu := cat(ngSHB(le), ngIDB(le, 147, 0), ngIDB(le, 1, 0), ngEPB(le, 1, 7, seq(0, 14), 14))

	// Case "decimal-resolutions": 10^-10 (division), 10^-3, negative offset.
	dr := cat(ngSHB(le),
		ngIDB(le, 1, 0, ngOpt(le, 9, []byte{10}), ngEnd(le)),
		ngIDB(le, 1, 0, ngOpt(le, 9, []byte{3}), ngOpt(le, 14, le.AppendUint64(nil, uint64(1<<64-3600))), ngEnd(le)),
		ngEPB(le, 0, 17_000_000_001_234_567_891, seq(0, 14), 14),
		ngEPB(le, 1, 1_700_000_000_250, seq(1, 14), 14))
	drHead := off(ngSHB(le), ngIDB(le, 1, 0, ngOpt(le, 9, []byte{10}), ngEnd(le)), ngIDB(le, 1, 0, ngOpt(le, 9, []byte{3}), ngOpt(le, 14, le.AppendUint64(nil, uint64(1<<64-3600))), ngEnd(le)))

	tests := []struct {
		name string
		in   []byte
		want []capture.Packet
	}{
		{
			name: "le-two-interfaces",
			in:   le2,
			want: []capture.Packet{
				{Data: seq(0x10, 61), Length: 61, Time: 1_700_000_000_123_456_000, Link: packet.LinkEthernet, Interface: 0, Offset: off(shb, idbEth, idbRaw)},
				{Data: seq(0x45, 3), Length: 3, Time: 1_700_000_000_000_000_001, Link: packet.LinkRaw, Interface: 1, Offset: off(shb, idbEth, idbRaw, epb0, nrb, isb, dsb, custom, future)},
				{Data: []byte{}, Length: 0, Time: 5_000, Link: packet.LinkEthernet, Interface: 0, Offset: off(shb, idbEth, idbRaw, epb0, nrb, isb, dsb, custom, future, epb1)},
			},
		},
		{
			name: "be-spb-opb-binary-resolution",
			in:   be1,
			want: []capture.Packet{
				{Data: seq(1, 64), Length: 100, Time: 0, Link: packet.LinkLinuxSLL, Offset: off(bshb, bidb)},
				{Data: seq(2, 10), Length: 10, Time: 0, Link: packet.LinkLinuxSLL, Offset: off(bshb, bidb, spbSnap)},
				{Data: seq(3, 20), Length: 20, Time: 1_000_000*sec + 3_500_000_000, Link: packet.LinkLinuxSLL, Offset: off(bshb, bidb, spbSnap, spbShort)},
				{Data: seq(4, 5), Length: 9, Time: 1_000_000*sec + 953, Link: packet.LinkLinuxSLL, Offset: off(bshb, bidb, spbSnap, spbShort, opb)},
			},
		},
		{
			name: "two-sections",
			in:   s2,
			want: []capture.Packet{
				{Data: seq(9, 14), Length: 14, Time: 2 * sec, Link: packet.LinkEthernet, Offset: off(ngSHB(le), ngIDB(le, 1, 0))},
				{Data: seq(8, 20), Length: 20, Time: 1_500_000_000, Link: packet.LinkLinuxSLL2, Offset: s2off},
			},
		},
		{
			name: "unused-unsupported-interface",
			in:   uu,
			want: []capture.Packet{
				{Data: seq(0, 14), Length: 14, Time: 7_000, Link: packet.LinkEthernet, Interface: 1, Offset: off(ngSHB(le), ngIDB(le, 147, 0), ngIDB(le, 1, 0))},
			},
		},
		{
			name: "decimal-resolutions",
			in:   dr,
			want: []capture.Packet{
				{Data: seq(0, 14), Length: 14, Time: 1_700_000_000_123_456_789, Link: packet.LinkEthernet, Interface: 0, Offset: drHead},
				{Data: seq(1, 14), Length: 14, Time: 1_700_000_000_250_000_000 - 3600*sec, Link: packet.LinkEthernet, Interface: 1, Offset: drHead + off(ngEPB(le, 0, 0, seq(0, 14), 14))},
			},
		},
		{
			name: "header-only",
			in:   ngSHB(be),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := readBytes(t, tt.in, 3)
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			if res.err != io.EOF {
				t.Fatalf("read error %v, want io.EOF", res.err)
			}
			if d := diffPackets(tt.want, res.pkts); d != "" {
				t.Error(d)
			}
			// The reference reader must agree with the hand-written wants.
			if d := diffPackets(tt.want, refRead(tt.in).res.pkts); d != "" {
				t.Errorf("reference reader: %s", d)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	pcapHdr := pcapHeader(le, false, 65535, 1)
	good := pcapRecord(le, 1, 1, seq(0, 60), 60)
	ngHead := cat(ngSHB(le), ngIDB(le, 1, 0))
	ngGood := ngEPB(le, 0, 1, seq(0, 60), 60)
	p1 := int64(len(pcapHdr) + len(good)) // offset of a pcap record after one good one
	n1 := int64(len(ngHead) + len(ngGood))

	// setLen returns block b with its leading total length set to n.
	setLen := func(b []byte, n uint32) []byte {
		b = bytes.Clone(b)
		le.PutUint32(b[4:], n)
		return b
	}
	tests := []struct {
		name     string
		in       []byte
		wantPkts int    // good packets before the error
		atOpen   bool   // NewReader fails
		link     bool   // *LinkTypeError rather than *FormatError
		offset   int64  // error offset
		msg      string // substring of the message
	}{
		{name: "empty", in: nil, atOpen: true, msg: "magic number truncated: 0 of 4 bytes"},
		{name: "magic-short", in: []byte{0xd4, 0xc3}, atOpen: true, msg: "magic number truncated: 2 of 4 bytes"},
		{name: "magic-unknown", in: []byte("GET / HTTP/1.1\r\n"), atOpen: true, msg: "unknown magic number 0x47455420"},
		{name: "gzip", in: []byte{0x1f, 0x8b, 8, 0, 0, 0}, atOpen: true, msg: "gzip"},

		{name: "pcap-header-truncated", in: pcapHdr[:10], atOpen: true, msg: "file header truncated: 10 of 24 bytes"},
		{name: "pcap-version", in: func() []byte { b := bytes.Clone(pcapHdr); le.PutUint16(b[4:], 3); return b }(), atOpen: true, msg: "unsupported pcap version 3.4"},
		{name: "pcap-link-user0", in: pcapHeader(be, false, 65535, 147), atOpen: true, link: true, msg: "byte 0: unsupported link type 147 (USER0)"},
		{name: "pcap-record-header-truncated", in: cat(pcapHdr, good, good[:7]), wantPkts: 1, offset: p1, msg: "record header truncated: 7 of 16 bytes"},
		{name: "pcap-data-truncated", in: cat(pcapHdr, good, good[:16+30]), wantPkts: 1, offset: p1, msg: "packet data truncated: 30 of 60 bytes"},
		{name: "pcap-caplen-over-limit", in: cat(pcapHdr, good, pcapRecord(le, 1, 1, nil, 0)[:8], le.AppendUint32(nil, 300000), le.AppendUint32(nil, 300000)), wantPkts: 1, offset: p1, msg: "captured length 300000 exceeds limit 262144"},
		{name: "pcap-caplen-over-origlen", in: cat(pcapHdr, good, pcapRecord(le, 1, 1, seq(0, 61), 60)), wantPkts: 1, offset: p1, msg: "captured length 61 exceeds original length 60"},

		{name: "pcapng-shb-truncated", in: ngSHB(le)[:20], atOpen: true, msg: "section header block truncated: 20 of 28 bytes"},
		{name: "pcapng-byte-order-magic", in: func() []byte { b := ngSHB(le); b[8] = 0; return b }(), atOpen: true, msg: "unknown byte-order magic"},
		{name: "pcapng-version", in: func() []byte { b := ngSHB(le); le.PutUint16(b[12:], 2); return b }(), atOpen: true, msg: "unsupported pcapng version 2.0"},
		{name: "pcapng-shb-length-mismatch", in: func() []byte { b := ngSHB(le); le.PutUint32(b[len(b)-4:], 32); return b }(), atOpen: true, msg: "block total length mismatch: 28 at start, 32 at end"},
		{name: "pcapng-block-header-truncated", in: cat(ngHead, ngGood, ngGood[:5]), wantPkts: 1, offset: n1, msg: "block header truncated: 5 of 8 bytes"},
		{name: "pcapng-block-truncated", in: cat(ngHead, ngGood, ngGood[:50]), wantPkts: 1, offset: n1, msg: "block truncated: 50 of 92 bytes"},
		{name: "pcapng-block-below-minimum", in: cat(ngHead, ngGood, setLen(ngGood, 8)), wantPkts: 1, offset: n1, msg: "block length 8 below minimum 12"},
		{name: "pcapng-epb-below-minimum", in: cat(ngHead, ngGood, setLen(ngBlock(le, 6, make([]byte, 16)), 28)), wantPkts: 1, offset: n1, msg: "block length 28 below minimum 32"},
		{name: "pcapng-block-not-multiple-of-4", in: cat(ngHead, ngGood, setLen(ngGood, 90)), wantPkts: 1, offset: n1, msg: "block length 90 not a multiple of 4"},
		{name: "pcapng-length-mismatch", in: cat(ngHead, ngGood, func() []byte { b := bytes.Clone(ngGood); le.PutUint32(b[len(b)-4:], 96); return b }(), ngGood), wantPkts: 1, offset: n1, msg: "block total length mismatch: 92 at start, 96 at end"},
		{name: "pcapng-length-mismatch-skipped-block", in: cat(ngHead, ngGood, setLen(ngBlock(le, 5, make([]byte, 16)), 24), ngGood), wantPkts: 1, offset: n1, msg: "block total length mismatch: 24 at start, 0 at end"},
		{name: "pcapng-huge-skipped-block", in: cat(ngHead, ngGood, setLen(ngBlock(le, 5), 0xfffffffc)), wantPkts: 1, offset: n1, msg: "block truncated: 12 of 4294967292 bytes"},
		{name: "pcapng-unknown-interface", in: cat(ngHead, ngGood, ngEPB(le, 2, 1, nil, 0)), wantPkts: 1, offset: n1, msg: "packet on interface 2, but the section has 1"},
		{name: "pcapng-packet-before-interface", in: cat(ngSHB(be), ngEPB(be, 0, 1, nil, 0)), offset: 28, msg: "packet on interface 0, but the section has 0"},
		{name: "pcapng-interfaces-reset-by-section", in: cat(ngHead, ngSHB(le), ngEPB(le, 0, 1, nil, 0)), offset: int64(len(ngHead)) + 28, msg: "packet on interface 0, but the section has 0"},
		{name: "pcapng-caplen-overruns-block", in: cat(ngHead, ngGood, func() []byte { b := bytes.Clone(ngGood); le.PutUint32(b[20:], 61); le.PutUint32(b[24:], 100); return b }()), wantPkts: 1, offset: n1, msg: "captured length 61 overruns block length 92"},
		{name: "pcapng-caplen-over-limit", in: cat(ngHead, func() []byte { b := bytes.Clone(ngGood); le.PutUint32(b[20:], 1<<20); return b }()), offset: int64(len(ngHead)), msg: "captured length 1048576 exceeds limit 262144"},
		{name: "pcapng-caplen-over-origlen", in: cat(ngHead, ngEPB(le, 0, 1, seq(0, 8), 4)), offset: int64(len(ngHead)), msg: "captured length 8 exceeds original length 4"},
		{name: "pcapng-spb-without-interface", in: cat(ngSHB(le), ngSPB(le, 4, seq(0, 4))), offset: 28, msg: "simple packet block, but the section has no interface"},
		{name: "pcapng-option-overruns-idb", in: cat(ngSHB(le), ngIDB(le, 1, 0, le.AppendUint16(le.AppendUint16(nil, 2), 200))), offset: 28, msg: "option 2 of length 200 overruns its block"},
		{name: "pcapng-epb-on-unsupported-link", in: cat(ngSHB(le), ngIDB(le, 147, 0), ngEPB(le, 0, 1, seq(0, 4), 4)), link: true, offset: 28 + 20, msg: "byte 48: unsupported link type 147 (USER0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := readBytes(t, tt.in, 4)
			if tt.atOpen != (err != nil) {
				t.Fatalf("NewReader error = %v, want error: %v", err, tt.atOpen)
			}
			if err == nil {
				if len(res.pkts) != tt.wantPkts {
					t.Errorf("got %d packets before the error, want %d", len(res.pkts), tt.wantPkts)
				}
				err = res.err
				if tt.link {
					if len(res.linkErrs) != 1 || res.err != io.EOF {
						t.Fatalf("got LinkTypeErrors at %v then %v, want one then io.EOF", res.linkErrs, res.err)
					}
					// Read again to get the error value itself.
					r, _ := capture.NewReader(bytes.NewReader(tt.in), "test")
					_, err = r.ReadBatch(make([]capture.Packet, 4))
				}
			}
			var off int64
			var fe *capture.FormatError
			var lte *capture.LinkTypeError
			switch {
			case !tt.link && errors.As(err, &fe):
				off = fe.Offset
				if fe.File != "test" {
					t.Errorf("File = %q, want %q", fe.File, "test")
				}
			case tt.link && errors.As(err, &lte):
				off = lte.Offset
			default:
				t.Fatalf("error %#v, want a *FormatError (or *LinkTypeError: %v)", err, tt.link)
			}
			if off != tt.offset {
				t.Errorf("offset %d, want %d (error %q)", off, tt.offset, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			// The reference reader must find the same fault.
			ref := refRead(tt.in)
			want := ref.res.err
			if tt.atOpen {
				want = ref.hdrErr
			}
			if tt.link && !tt.atOpen {
				if len(ref.res.linkErrs) != 1 || ref.res.linkErrs[0] != tt.offset {
					t.Errorf("reference reader: LinkTypeErrors at %v, want [%d]", ref.res.linkErrs, tt.offset)
				}
			} else if !sameErr(want, err) {
				t.Errorf("reference reader: error %v, want %v", want, err)
			}
		})
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&capture.FormatError{File: "a.pcap", Offset: 1234, Msg: "record header truncated: 7 of 16 bytes"}, "a.pcap: byte 1234: record header truncated: 7 of 16 bytes"},
		{&capture.LinkTypeError{File: "b.pcapng", Offset: 48, Link: 147}, "b.pcapng: byte 48: unsupported link type 147 (USER0)"},
		{&capture.LinkTypeError{File: "c.pcap", Offset: 0, Link: 4242}, "c.pcap: byte 0: unsupported link type 4242 (LINKTYPE_4242)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestLinkTypeErrorNotFatal checks that a packet on an unsupported interface
// is reported and skipped, and the packets around it still come through.
func TestLinkTypeErrorNotFatal(t *testing.T) {
	in := cat(ngSHB(le), ngIDB(le, 1, 0), ngIDB(le, 147, 0),
		ngEPB(le, 0, 1, seq(1, 14), 14),
		ngEPB(le, 1, 2, seq(2, 14), 14), // USER0
		ngEPB(le, 0, 3, seq(3, 14), 14))
	r, err := capture.NewReader(bytes.NewReader(in), "test")
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]capture.Packet, 8)
	steps := []struct {
		n    int
		err  string
		data byte // first byte of the first packet
	}{
		{n: 1, data: 1},
		{err: "unsupported link type 147"},
		{n: 1, data: 3},
		{err: "EOF"},
		{err: "EOF"},
	}
	for i, s := range steps {
		n, err := r.ReadBatch(pkts)
		if n != s.n || (err == nil) != (s.err == "") || err != nil && !strings.Contains(err.Error(), s.err) {
			t.Fatalf("step %d: ReadBatch = %d, %v; want %d, %q", i, n, err, s.n, s.err)
		}
		if n > 0 && pkts[0].Data[0] != s.data {
			t.Errorf("step %d: packet data starts %d, want %d", i, pkts[0].Data[0], s.data)
		}
	}
}

// TestBatchSizes checks that batch size changes nothing but the batching,
// including batches cut short by a full arena.
func TestBatchSizes(t *testing.T) {
	small := cat(pcapHeader(le, false, 0, 1))
	for i := range 100 {
		small = append(small, pcapRecord(le, uint32(i), 0, seq(byte(i), i*17%1500), 1500)...)
	}
	// Packets of 200 KiB: the 1 MiB arena takes five per batch.
	big := cat(ngSHB(le), ngIDB(le, 1, 0))
	for i := range 12 {
		big = append(big, ngEPB(le, 0, uint64(i), seq(byte(i), 200<<10), 200<<10)...)
	}
	for _, in := range []struct {
		name string
		b    []byte
	}{{"small", small}, {"big", big}} {
		want, err := readBytes(t, in.b, 1000)
		if err != nil || want.err != io.EOF {
			t.Fatalf("%s: %v, %v", in.name, err, want.err)
		}
		for _, batch := range []int{1, 2, 3, 7, 64} {
			got, _ := readBytes(t, in.b, batch)
			if d := diffPackets(want.pkts, got.pkts); d != "" || got.err != io.EOF {
				t.Errorf("%s, batch %d: %s, %v", in.name, batch, d, got.err)
			}
		}
	}

	// A full arena ends a batch early, and every packet of the batch stays
	// intact until the next call.
	r, err := capture.NewReader(bytes.NewReader(big), "big")
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]capture.Packet, 12)
	total := 0
	for {
		n, err := r.ReadBatch(pkts)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > capture.MaxArena/(200<<10) {
			t.Errorf("batch of %d 200 KiB packets: more than the arena holds", n)
		}
		for i, p := range pkts[:n] {
			if !bytes.Equal(p.Data, seq(byte(total+i), 200<<10)) {
				t.Fatalf("packet %d overwritten within its batch", total+i)
			}
			if cap(p.Data) != len(p.Data) {
				t.Errorf("packet %d: cap(Data) %d != len %d", total+i, cap(p.Data), len(p.Data))
			}
		}
		total += n
	}
	if total != 12 {
		t.Errorf("read %d packets, want 12", total)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	in := cat(pcapHeader(le, true, 65535, 1), pcapRecord(le, 1, 2, seq(0, 60), 60), pcapRecord(le, 3, 4, seq(1, 42), 42))
	path := filepath.Join(dir, "two.pcap")
	if err := os.WriteFile(path, in, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != "pcap" || r.Size() != int64(len(in)) || r.Offset() != 24 {
		t.Errorf("Format, Size, Offset = %q, %d, %d; want pcap, %d, 24", r.Format(), r.Size(), r.Offset(), len(in))
	}
	res := readAll(t, r, 8)
	if len(res.pkts) != 2 || res.err != io.EOF || r.Offset() != int64(len(in)) {
		t.Errorf("read %d packets, %v, Offset %d; want 2, EOF, %d", len(res.pkts), res.err, r.Offset(), len(in))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.ReadBatch(make([]capture.Packet, 1)); err == nil || err == io.EOF {
		t.Errorf("ReadBatch after Close = %v, want an error", err)
	}

	// pcapng, and a Reader from NewReader: no size.
	ng := cat(ngSHB(le), ngIDB(le, 1, 0), ngEPB(le, 0, 1, seq(0, 14), 14))
	r, err = capture.NewReader(bytes.NewReader(ng), "ng")
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != "pcapng" || r.Size() != -1 {
		t.Errorf("Format, Size = %q, %d; want pcapng, -1", r.Format(), r.Size())
	}

	if _, err := capture.Open(filepath.Join(dir, "missing.pcap")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want fs.ErrNotExist", err)
	}
	notcap := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notcap, []byte("hello, world\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var fe *capture.FormatError
	if _, err := capture.Open(notcap); !errors.As(err, &fe) || fe.File != notcap || !strings.HasPrefix(err.Error(), notcap+": byte 0: ") {
		t.Errorf("Open(text file) = %v, want a *FormatError naming %s", err, notcap)
	}
}

// errAfter serves b, then fails with err instead of io.EOF.
type errAfter struct {
	b   []byte
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.b) == 0 {
		return 0, e.err
	}
	n := copy(p, e.b)
	e.b = e.b[n:]
	return n, nil
}

// TestReadIOError checks that an error of the underlying reader comes back
// wrapped, after the packets before it, and sticks.
func TestReadIOError(t *testing.T) {
	errDisk := errors.New("input/output error")
	in := richPcap(le, false)
	cut := len(in) - 10 // inside the last record
	r, err := capture.NewReader(&errAfter{b: in[:cut], err: errDisk}, "flaky.pcap")
	if err != nil {
		t.Fatal(err)
	}
	res := readAll(t, r, 2)
	want := refRead(in).res.pkts
	if d := diffPackets(want[:len(want)-1], res.pkts); d != "" {
		t.Error(d)
	}
	var fe *capture.FormatError
	if !errors.Is(res.err, errDisk) || errors.As(res.err, &fe) || !strings.Contains(res.err.Error(), "flaky.pcap") {
		t.Errorf("error %v, want one wrapping %v and naming the file", res.err, errDisk)
	}
}
