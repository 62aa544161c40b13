package capture_test

import (
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/hare-fw/hare/capture"
)

// FuzzReader feeds arbitrary bytes to the Reader and asserts:
//   - no panic, and ReadBatch keeps its contract (see readAll);
//   - every error is a *FormatError, a *LinkTypeError or io.EOF;
//   - reading the same bytes twice gives the same packets and errors;
//   - the streaming Reader agrees with the whole-file reference reader on
//     every packet field and on the type and offset of every error.
func FuzzReader(f *testing.F) {
	// Small valid files of each format, byte order and time unit.
	f.Add(richPcap(le, false))                                                                                              // pcap, little endian, µs
	f.Add(richPcap(be, true))                                                                                               // pcap, big endian, ns
	f.Add(richPcapng())                                                                                                     // pcapng: two sections, both orders, EPB/SPB/OPB, skipped blocks
	f.Add(ngSHB(be))                                                                                                        // pcapng with no interface and no packet
	f.Add(cat(pcapHeader(le, true, 65535, 0x24000001), pcapRecord(le, 1, 2, seq(0, 20), 24)))                               // pcap with FCS bits in the link type field
	f.Add(cat(ngSHB(le), ngIDB(le, 147, 0), ngIDB(le, 1, 0), ngEPB(le, 0, 1, seq(0, 4), 4), ngEPB(le, 1, 1, seq(0, 4), 4))) // pcapng: a packet on an unsupported interface, then a good one
	f.Add(cat(ngSHB(le), ngIDB(le, 1, 16, ngOpt(le, 9, []byte{0xff}), ngEnd(le)), ngSPB(le, 40, seq(0, 16))))               // pcapng: 2^-127 s resolution, SPB cut by snaplen
	// Files written by Writer.
	file, _ := writeFile(f, writerPackets[:4])
	f.Add(file)
	// The first bytes of shared real captures, when the corpus is there:
	// real headers and options that hand-built files may lack.
	for _, name := range []string{
		"pcapng_two-interfaces_dns.pcapng",             // pcapng from mergecap, two Ethernet interfaces
		"linux-sll_tcp-handshake_nanosecond-pcap.pcap", // pcap, ns magic, LINUX_SLL
		"linux-sll2_icmp-icmpv6-arp.pcap",              // pcap, LINUX_SLL2
		"null-loopback_quic-handshake.pcap",            // pcap, DLT_NULL
		"icmpv6_mldv2_raw-ipv6-linktype.pcap",          // pcap, raw IPv6 link type
	} {
		if b, err := readShared(name); err == nil {
			f.Add(b[:min(len(b), 600)])
		}
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		first, err := readBytes(t, in, 3)
		want := refRead(in)
		if err != nil {
			var fe *capture.FormatError
			var lte *capture.LinkTypeError
			if !errors.As(err, &fe) && !errors.As(err, &lte) {
				t.Fatalf("NewReader error %#v is neither *FormatError nor *LinkTypeError", err)
			}
			if !sameErr(want.hdrErr, err) {
				t.Fatalf("NewReader error %v, reference reader %v", err, want.hdrErr)
			}
			return
		}
		if want.hdrErr != nil {
			t.Fatalf("NewReader succeeded, reference reader failed with %v", want.hdrErr)
		}
		var fe *capture.FormatError
		if first.err != io.EOF && !errors.As(first.err, &fe) {
			t.Fatalf("read error %#v is neither io.EOF nor *FormatError", first.err)
		}

		second, _ := readBytes(t, in, 1)
		if d := diffPackets(first.pkts, second.pkts); d != "" {
			t.Fatalf("second read differs: %s", d)
		}
		if !slices.Equal(first.linkErrs, second.linkErrs) || !sameErr(first.err, second.err) {
			t.Fatalf("second read: errors %v, %v; first read %v, %v", second.linkErrs, second.err, first.linkErrs, first.err)
		}

		if d := diffPackets(want.res.pkts, first.pkts); d != "" {
			t.Fatalf("reference reader differs: %s", d)
		}
		if !slices.Equal(want.res.linkErrs, first.linkErrs) || !sameErr(want.res.err, first.err) {
			t.Fatalf("errors %v, %v; reference reader %v, %v", first.linkErrs, first.err, want.res.linkErrs, want.res.err)
		}
	})
}
