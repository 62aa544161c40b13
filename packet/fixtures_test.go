package packet_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/hare-fw/hare/packet"
	pt "github.com/hare-fw/hare/packet/packettest"
)

// Hex fixtures for the decoder, one header field per line (the style of
// tailscale's net/packet tests). They were written from the RFC layouts by a
// generator independent of both the decoder and packettest's builders;
// TestFixturesMatchBuilders checks a few of them against the builders, so
// the two constructions vouch for each other.
//
// Addresses: 192.0.2.1 -> 198.51.100.7 and 2001:db8::1 -> 2001:db8::2
// unless a fixture says otherwise.

var (
	fxS4   = netip.MustParseAddr("192.0.2.1")
	fxD4   = netip.MustParseAddr("198.51.100.7")
	fxS6   = netip.MustParseAddr("2001:db8::1")
	fxD6   = netip.MustParseAddr("2001:db8::2")
	fxR6   = netip.MustParseAddr("2001:db8:ff::fe")
	fxHome = netip.MustParseAddr("2001:db8:99::1")
)

// diffExported compares the exported fields of want and got recursively and
// returns one line per difference, "path: want X, got Y". It stands in for
// cmp.Diff (go-cmp is not a dependency of the module). Unexported fields are
// the decoder's business and are not compared.
func diffExported(want, got any) []string {
	var out []string
	diffValue("", reflect.ValueOf(want), reflect.ValueOf(got), &out)
	return out
}

var addrType = reflect.TypeFor[netip.Addr]()

func diffValue(path string, w, g reflect.Value, out *[]string) {
	if w.Type() == addrType {
		wa, ga := w.Interface().(netip.Addr), g.Interface().(netip.Addr)
		if wa != ga {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, wa, ga))
		}
		return
	}
	switch w.Kind() {
	case reflect.Struct:
		for i := range w.NumField() {
			f := w.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			diffValue(joinPath(path, f.Name), w.Field(i), g.Field(i), out)
		}
	case reflect.Array:
		for i := range w.Len() {
			diffValue(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i), out)
		}
	default:
		if !w.Equal(g) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, show(w), show(g)))
		}
	}
}

func joinPath(p, f string) string {
	if p == "" {
		return f
	}
	return p + "." + f
}

// show prints enums by name and other integers in decimal and hex.
func show(v reflect.Value) string {
	var n string
	switch v.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n = fmt.Sprintf("%d (%#x)", v.Uint(), v.Uint())
	case reflect.Int:
		n = fmt.Sprint(v.Int())
	default:
		return fmt.Sprint(v.Interface())
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return fmt.Sprintf("%s = %s", s, n)
	}
	return n
}

// exts builds an ExtChain.Hdrs array from (kind, offset, length) triples.
func exts(h ...packet.ExtHeader) (a [packet.MaxExtRecorded]packet.ExtHeader) {
	copy(a[:], h)
	return a
}

// extSet builds an ExtSet.
func extSet(kinds ...packet.ExtKind) packet.ExtSet {
	var s packet.ExtSet
	for _, k := range kinds {
		s |= 1 << k
	}
	return s
}

var (
	// IPv4 TCP SYN with MSS, SACK-permitted, timestamps and window scale (RFC 9293 §3.1, RFC 7323, RFC 2018).
	fxTCP4SYN = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		08 00 // EtherType 0x0800 (IPv4)
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 3c // total length 60
		1c 46 // identification 0x1c46
		40 00 // DF, fragment offset 0
		40 // TTL 64
		06 // protocol 6 (TCP)
		32 3a // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# TCP
		9c 40 // src port 40000
		01 bb // dst port 443
		11 22 33 44 // seq 0x11223344
		00 00 00 00 // ack 0x0
		a0 // data offset 10 (40 bytes)
		02 // flags SYN
		fa f0 // window 64240
		7e 0d // checksum
		00 00 // urgent pointer 0
		02 04 05 b4 // MSS 1460
		04 02 // SACK permitted
		08 0a 00 00 00 64 00 00 00 00 // timestamps TSval 100, TSecr 0
		01 // NOP
		03 03 07 // window scale 7
	`)

	// IPv6 UDP with 5 bytes of payload.
	fxUDP6 = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		86 dd // EtherType 0x86dd (IPv6)
		# IPv6
		60 01 23 45 // version 6, traffic class 0x00, flow label 0x12345
		00 0d // payload length 13
		11 // next header 17 (UDP)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# UDP
		14 e9 // src port 5353
		00 35 // dst port 53
		00 0d // length 13
		4b 6f // checksum
		# payload
		68 65 6c 6c 6f // 'hello'
	`)

	// IPv6 TCP SYN behind HBH, DO, RH type 2 (SL 0) and DO: the K-01 black-box check; the recommended order of RFC 8200 §4.1.
	fxTCP6Chain = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		86 dd // EtherType 0x86dd (IPv6)
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 4c // payload length 76
		00 // next header 0 (Hop-by-Hop)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Hop-by-Hop Options
		3c 00 // next header 60 (Destination Options), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# Destination Options
		2b 00 // next header 43 (Routing), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# Routing header type 2
		3c 02 // next header 60 (Destination Options), length 2 (24 bytes)
		02 00 // routing type 2, segments left 0
		00 00 00 00 // reserved
		20 01 0d b8 00 99 00 00 00 00 00 00 00 00 00 01 // address 2001:db8:99::1
		# Destination Options
		06 00 // next header 6 (TCP), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# TCP
		9c 41 // src port 40001
		00 50 // dst port 80
		00 00 00 01 // seq 0x1
		00 00 00 00 // ack 0x0
		70 // data offset 7 (28 bytes)
		02 // flags SYN
		ff ff // window 65535
		8b 2c // checksum
		00 00 // urgent pointer 0
		02 04 05 a0 // MSS 1440
		01 // NOP
		01 // NOP
		04 02 // SACK permitted
	`)

	// First fragment (offset 0, M=1) of an IPv6 UDP datagram of 32 bytes: the UDP header is here (RFC 8200 §4.5).
	fxFrag6First = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		86 dd // EtherType 0x86dd (IPv6)
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 20 // payload length 32
		2c // next header 44 (Fragment)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Fragment header
		11 00 // next header 17 (UDP), reserved
		00 01 // offset 0 bytes, M=1
		de ad be ef // identification 0xdeadbeef
		# UDP
		0f a0 // src port 4000
		0f a1 // dst port 4001
		00 20 // length 32
		00 68 // checksum
		# payload
		00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f // first 16 bytes of UDP data
	`)

	// Second and last fragment (offset 24, M=0) of the same datagram: no transport header (K-04).
	fxFrag6Later = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		86 dd // EtherType 0x86dd (IPv6)
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 10 // payload length 16
		2c // next header 44 (Fragment)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Fragment header
		11 00 // next header 17 (UDP), reserved
		00 18 // offset 24 bytes, M=0
		de ad be ef // identification 0xdeadbeef
		# payload
		10 11 12 13 14 15 16 17 // last 8 bytes of UDP data
	`)

	// Atomic fragment (offset 0, M=0) carrying an ICMPv6 echo request: a whole packet (RFC 6946 §4, FR-11).
	fxAtomic6 = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		86 dd // EtherType 0x86dd (IPv6)
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 14 // payload length 20
		2c // next header 44 (Fragment)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Fragment header
		3a 00 // next header 58 (ICMPv6), reserved
		00 00 // offset 0 bytes, M=0
		00 00 ab cd // identification 0x0000abcd
		# ICMPv6
		80 // type 128
		00 // code 0
		3e 72 // checksum
		07 00 00 01 // identifier 0x0700, sequence 1
		# payload
		70 69 6e 67 // 'ping'
	`)

	// HBH, DO, then No Next Header (59) with 4 bytes after it (K-03, FR-15).
	fxNoNext6 = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 14 // payload length 20
		00 // next header 0 (Hop-by-Hop)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Hop-by-Hop Options
		3c 00 // next header 60 (Destination Options), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# Destination Options
		3b 00 // next header 59 (No Next Header), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# payload
		de ad be ef // bytes after No Next Header (RFC 8200 §4.7: ignored)
	`)

	// Routing header type 0 with Segments Left 1 (deprecated by RFC 5095 §3, EH-08), then UDP; the UDP checksum uses the final destination 2001:db8::3 (RFC 8200 §8.1).
	fxRH0 = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 20 // payload length 32
		2b // next header 43 (Routing)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Routing header type 0
		11 02 // next header 17 (UDP), length 2 (24 bytes)
		00 01 // routing type 0, segments left 1
		00 00 00 00 // reserved
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 03 // address 2001:db8::3
		# UDP
		04 00 // src port 1024
		00 35 // dst port 53
		00 08 // length 8
		a0 33 // checksum
	`)

	// Hop-by-Hop after Destination Options (RFC 8200 §4.3: HBH only right after the IPv6 header, EH-01).
	fxHBHNotFirst = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 18 // payload length 24
		3c // next header 60 (Destination Options)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Destination Options
		00 00 // next header 0 (Hop-by-Hop), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# Hop-by-Hop Options
		11 00 // next header 17 (UDP), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# UDP
		04 00 // src port 1024
		00 35 // dst port 53
		00 08 // length 8
		a0 34 // checksum
	`)

	// Three Destination Options headers before TCP: legal to accept (RFC 8200 §4.1, EH-04), flagged as repeated.
	fxDO3 = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 2c // payload length 44
		3c // next header 60 (Destination Options)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Destination Options
		3c 00 // next header 60 (Destination Options), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# Destination Options
		3c 00 // next header 60 (Destination Options), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# Destination Options
		06 00 // next header 6 (TCP), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# TCP
		9c 42 // src port 40002
		00 16 // dst port 22
		00 00 00 05 // seq 0x5
		00 00 00 00 // ack 0x0
		50 // data offset 5 (20 bytes)
		02 // flags SYN
		04 00 // window 1024
		b4 10 // checksum
		00 00 // urgent pointer 0
	`)

	// Destination Options with PadN(4) and a Mobile IPv6 Home Address option (RFC 6275 §6.3, alignment 8n+6; K-17).
	fxHAO = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 20 // payload length 32
		3c // next header 60 (Destination Options)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Destination Options
		11 02 // next header 17 (UDP), length 2 (24 bytes)
		01 02 00 00 // PadN, 4 bytes
		c9 10 20 01 0d b8 00 99 00 00 00 00 00 00 00 00 // Home Address 2001:db8:99::1 (type 0xc9, length 16)
		00 01
		# UDP
		01 b2 // src port 434
		01 b2 // dst port 434
		00 08 // length 8
		a1 05 // checksum
	`)

	// First fragment holding only a Destination Options header; the TCP header is in the next fragment (RFC 7112 §5, K-09, FR-08).
	fxFragIncomplete = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 18 // payload length 24
		2c // next header 44 (Fragment)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Fragment header
		3c 00 // next header 60 (Destination Options), reserved
		00 01 // offset 0 bytes, M=1
		00 00 71 12 // identification 0x00007112
		# Destination Options
		06 01 // next header 6 (TCP), length 1 (16 bytes)
		01 0c 00 00 00 00 00 00 00 00 00 00 00 00 // PadN, 14 bytes
	`)

	// ESP over IPv6: the walk stops at ESP, which is the payload (K-02; RFC 4303 §2).
	fxESP6 = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 18 // payload length 24
		32 // next header 50 (ESP)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# ESP
		00 00 10 01 // SPI 0x00001001
		00 00 00 07 // sequence number 7
		00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 // encrypted payload, padding, trailer, ICV
	`)

	// AH (12-byte ICV, 24 bytes) then an ICMPv6 echo request: AH is walked past (K-01; RFC 4302 §2).
	fxAH6 = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 24 // payload length 36
		33 // next header 51 (AH)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Authentication Header
		3a 04 // next header 58 (ICMPv6), payload len 4 (24 bytes)
		00 00 // reserved
		00 00 be ef // SPI 0x0000beef
		00 00 00 03 // sequence number 3
		00 01 02 03 04 05 06 07 08 09 0a 0b // ICV (12 bytes)
		# ICMPv6
		80 // type 128
		00 // code 0
		3e 70 // checksum
		07 01 00 02 // identifier 0x0701, sequence 2
		# payload
		70 69 6e 67 // 'ping'
	`)

	// ICMP echo request (RFC 792).
	fxICMP4Echo = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		08 00 // EtherType 0x0800 (IPv4)
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 24 // total length 36
		2a 2a // identification 0x2a2a
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		01 // protocol 1 (ICMP)
		64 73 // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# ICMP
		08 // type 8
		00 // code 0
		59 53 // checksum
		0d 0e 00 09 // identifier 0x0d0e, sequence 9
		# payload
		61 62 63 64 65 66 67 68 // 'abcdefgh'
	`)

	// ICMP port unreachable (type 3 code 3) quoting the IPv4 header and first 8 bytes of a UDP datagram (RFC 792).
	fxICMP4Unreach = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 01 // dst 02:00:5e:10:00:01
		02 00 5e 10 00 02 // src 02:00:5e:10:00:02
		08 00 // EtherType 0x0800 (IPv4)
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 38 // total length 56
		42 42 // identification 0x4242
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		01 // protocol 1 (ICMP)
		4c 47 // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# ICMP
		03 // type 3
		03 // code 3
		61 54 // checksum
		00 00 00 00 // unused
		# quoted IPv4 header
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 1d // total length 29
		31 31 // identification 0x3131
		00 00 // no flags, fragment offset 0
		3f // TTL 63
		11 // protocol 17 (UDP)
		5e 63 // header checksum
		c6 33 64 07 // src 198.51.100.7
		c0 00 02 01 // dst 192.0.2.1
		# quoted UDP header (first 8 bytes)
		82 9a // src port 33434
		02 02 // dst port 514
		00 09 // length 9
		17 03 // checksum
	`)

	// ICMPv6 Packet Too Big (MTU 1280) quoting the start of an IPv6 TCP segment behind a Destination Options header (RFC 4443 §3.2, K-12).
	fxPTB6 = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 01 // dst 02:00:5e:10:00:01
		02 00 5e 10 00 02 // src 02:00:5e:10:00:02
		86 dd // EtherType 0x86dd (IPv6)
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 4c // payload length 76
		3a // next header 58 (ICMPv6)
		40 // hop limit 64
		20 01 0d b8 00 ff 00 00 00 00 00 00 00 00 00 fe // src 2001:db8:ff::fe
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // dst 2001:db8::1
		# ICMPv6
		02 // type 2
		00 // code 0
		f2 4a // checksum
		00 00 05 00 // MTU 1280
		# quoted IPv6 header
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		05 94 // payload length 1428
		3c // next header 60 (Destination Options)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# quoted Destination Options
		06 00 // next header 6 (TCP), length 0 (8 bytes)
		01 04 00 00 00 00 // PadN, 6 bytes
		# quoted TCP header
		9c 43 // src port 40003
		01 bb // dst port 443
		ab cd ef 01 // seq 0xabcdef01
		01 02 03 04 // ack 0x1020304
		50 // data offset 5 (20 bytes)
		18 // flags PSH,ACK
		01 f4 // window 500
		15 90 // checksum (of the original segment)
		00 00 // urgent pointer 0
	`)

	// IPv4 UDP in an 802.1Q frame, VLAN 100, PCP 5.
	fxDot1Q = pt.MustParseHex(`
		# Ethernet with tags
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		81 00 a0 64 // TPID 0x8100 (802.1Q C-tag), PCP 5, DEI 0, VID 100
		08 00 // EtherType 0x0800 (IPv4)
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 1c // total length 28
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		11 // protocol 17 (UDP)
		8e 94 // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# UDP
		00 7b // src port 123
		00 7b // dst port 123
		00 08 // length 8
		12 ac // checksum
	`)

	// ICMPv6 echo request in 802.1ad QinQ: S-VLAN 200, C-VLAN 100.
	fxQinQ = pt.MustParseHex(`
		# Ethernet with tags
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		88 a8 00 c8 // TPID 0x88a8 (802.1ad S-tag), PCP 0, DEI 0, VID 200
		81 00 00 64 // TPID 0x8100 (802.1Q C-tag), PCP 0, DEI 0, VID 100
		86 dd // EtherType 0x86dd (IPv6)
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 0c // payload length 12
		3a // next header 58 (ICMPv6)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# ICMPv6
		80 // type 128
		00 // code 0
		44 67 // checksum
		00 01 00 01 // identifier 1, sequence 1
		# payload
		71 69 6e 71 // 'qinq'
	`)

	// IPv4 TCP ACK in a Linux cooked capture v1 header (LINKTYPE_LINUX_SLL).
	fxSLL = pt.MustParseHex(`
		# Linux cooked header v1
		00 04 // packet type 4 (outgoing)
		00 01 // ARPHRD_ETHER
		00 06 // address length 6
		02 00 5e 10 00 01 00 00 // address 02:00:5e:10:00:01, padded to 8
		08 00 // protocol 0x0800 (IPv4)
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 28 // total length 40
		00 05 // identification 0x0005
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		06 // protocol 6 (TCP)
		8e 8f // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# TCP
		9c 44 // src port 40004
		00 19 // dst port 25
		00 00 00 64 // seq 0x64
		00 00 00 c8 // ack 0xc8
		50 // data offset 5 (20 bytes)
		10 // flags ACK
		03 e8 // window 1000
		22 27 // checksum
		00 00 // urgent pointer 0
	`)

	// IPv6 UDP in a Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2).
	fxSLL2 = pt.MustParseHex(`
		# Linux cooked header v2
		86 dd // protocol 0x86dd (IPv6)
		00 00 // reserved
		00 00 00 03 // interface index 3
		00 01 // ARPHRD_ETHER
		00 // packet type 0 (host)
		06 // address length 6
		02 00 5e 10 00 02 00 00 // address 02:00:5e:10:00:02, padded to 8
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 08 // payload length 8
		11 // next header 17 (UDP)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# UDP
		02 23 // src port 547
		02 22 // dst port 546
		00 08 // length 8
		a0 24 // checksum
	`)

	// IPv4 UDP on BSD loopback (LINKTYPE_NULL) written by a little-endian host: family 2.
	fxNullLE = pt.MustParseHex(`
		# NULL header
		02 00 00 00 // AF_INET (2), little-endian
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 1c // total length 28
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		11 // protocol 17 (UDP)
		8e 94 // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# UDP
		13 88 // src port 5000
		13 89 // dst port 5001
		00 08 // length 8
		ec 90 // checksum
	`)

	// IPv6 UDP on BSD loopback written by a big-endian FreeBSD host: family 28.
	fxNullBE = pt.MustParseHex(`
		# NULL header
		00 00 00 1c // AF_INET6 on FreeBSD (28), big-endian
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 08 // payload length 8
		11 // next header 17 (UDP)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# UDP
		13 88 // src port 5000
		13 89 // dst port 5001
		00 08 // length 8
		7d 58 // checksum
	`)

	// ICMP echo reply on OpenBSD loopback (LINKTYPE_LOOP): the family in network order.
	fxLoop = pt.MustParseHex(`
		# LOOP header
		00 00 00 02 // AF_INET (2), big-endian
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 1c // total length 28
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		01 // protocol 1 (ICMP)
		8e a4 // header checksum
		c6 33 64 07 // src 198.51.100.7
		c0 00 02 01 // dst 192.0.2.1
		# ICMP
		00 // type 0
		00 // code 0
		f2 e8 // checksum
		0d 0e 00 09 // identifier 0x0d0e, sequence 9
	`)

	// IPv4 TCP SYN in an NFLOG record (LINKTYPE_NFLOG), TLV headers little-endian.
	fxNFLOG = pt.MustParseHex(`
		# NFLOG
		02 00 00 00 // nfgenmsg: family AF_INET, version 0, resource id 0
		08 00 01 00 // TLV length 8, type 1 NFULA_PACKET_HDR (little-endian)
		08 00 00 00 // hw_protocol 0x0800, hook 0 (NF_INET_PRE_ROUTING), pad
		09 00 0a 00 // TLV length 9, type 10 NFULA_PREFIX
		68 61 72 65 00 00 00 00 // "hare\0", padded to 4
		2c 00 09 00 // TLV length 44, type 9 NFULA_PAYLOAD
		# payload: IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 28 // total length 40
		00 77 // identification 0x0077
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		06 // protocol 6 (TCP)
		8e 1d // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# TCP
		9c 45 // src port 40005
		00 50 // dst port 80
		00 00 03 e8 // seq 0x3e8
		00 00 00 00 // ack 0x0
		50 // data offset 5 (20 bytes)
		02 // flags SYN
		72 10 // window 29200
		b1 18 // checksum
		00 00 // urgent pointer 0
	`)

	// Raw IPv4 (LINKTYPE_RAW / LINKTYPE_IPV4).
	fxRaw4 = pt.MustParseHex(`
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 1c // total length 28
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		01 // TTL 1
		11 // protocol 17 (UDP)
		cd 94 // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# UDP
		00 44 // src port 68
		00 43 // dst port 67
		00 08 // length 8
		13 1b // checksum
	`)

	// Raw IPv6 (LINKTYPE_RAW / LINKTYPE_IPV6) with a FIN-ACK.
	fxRaw6 = pt.MustParseHex(`
		# IPv6
		6b 80 00 00 // version 6, traffic class 0xb8, flow label 0x0
		00 14 // payload length 20
		06 // next header 6 (TCP)
		ff // hop limit 255
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# TCP
		9c 46 // src port 40006
		1f 90 // dst port 8080
		00 00 00 01 // seq 0x1
		00 00 00 02 // ack 0x2
		50 // data offset 5 (20 bytes)
		11 // flags FIN,ACK
		04 00 // window 1024
		94 85 // checksum
		00 00 // urgent pointer 0
	`)

	// IPv6 UDP inside IPv4 protocol 41 (RFC 4213).
	fx6in4 = pt.MustParseHex(`
		# Ethernet
		02 00 5e 10 00 02 // dst 02:00:5e:10:00:02
		02 00 5e 10 00 01 // src 02:00:5e:10:00:01
		08 00 // EtherType 0x0800 (IPv4)
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 44 // total length 68
		00 09 // identification 0x0009
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		29 // protocol 41 (IPv6)
		02 84 // header checksum
		cb 00 71 01 // src 203.0.113.1
		cb 00 71 02 // dst 203.0.113.2
		# inner IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 08 // payload length 8
		11 // next header 17 (UDP)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# inner UDP
		03 e8 // src port 1000
		07 d0 // dst port 2000
		00 08 // length 8
		98 b1 // checksum
	`)

	// Teredo (RFC 4380): IPv6 ICMPv6 echo in UDP from port 3544, after an origin indication.
	fxTeredo = pt.MustParseHex(`
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 54 // total length 84
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		11 // protocol 17 (UDP)
		8d f6 // header checksum
		c0 00 02 32 // src 192.0.2.50
		c6 33 64 3c // dst 198.51.100.60
		# UDP
		0d d8 // src port 3544
		9c 40 // dst port 40000
		00 40 // length 64
		50 e1 // checksum
		# Teredo origin indication
		00 00 // indicator type 0x0000
		3f d7 // obfuscated port
		3f 57 fe 9c // obfuscated IPv4 address
		# inner IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 08 // payload length 8
		3a // next header 58 (ICMPv6)
		40 // hop limit 64
		20 01 00 00 41 36 e3 78 80 00 63 bf 3f ff fd d2 // src 2001::4136:e378:8000:63bf:3fff:fdd2
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# inner ICMPv6
		80 // type 128
		00 // code 0
		eb ba // checksum
		00 02 00 03 // identifier 2, sequence 3
	`)

	// GRE version 0 with a key (RFC 2890) carrying an IPv4 ICMP echo request.
	fxGRE = pt.MustParseHex(`
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 38 // total length 56
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		2f // protocol 47 (GRE)
		8e 5a // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# GRE
		20 00 // flags: K; version 0
		08 00 // protocol 0x0800 (IPv4)
		00 00 10 01 // key 0x1001
		# inner IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 1c // total length 28
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		01 // protocol 1 (ICMP)
		66 de // header checksum
		0a 00 00 01 // src 10.0.0.1
		0a 00 00 02 // dst 10.0.0.2
		# inner ICMP
		08 // type 8
		00 // code 0
		80 87 // checksum
		77 77 00 01 // identifier 0x7777, sequence 1
	`)

	// Enhanced GRE (version 1) as PPTP uses it (RFC 2637 §4.1), carrying 4 bytes of PPP.
	fxPPTP = pt.MustParseHex(`
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 24 // total length 36
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		2f // protocol 47 (GRE)
		8e 6e // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# GRE v1 (PPTP)
		30 01 // flags: K, S; version 1
		88 0b // protocol 0x880b (PPP)
		00 04 // payload length 4
		00 2a // call ID 42
		00 00 00 05 // sequence number 5
		# payload
		ff 03 00 21 // PPP: address, control, protocol IPv4
	`)

	// Mobility Header (RFC 6275 §6.1): not an extension header to Linux, so it is the protocol (K-02).
	fxMobility = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 10 // payload length 16
		87 // next header 135 (Mobility)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# Mobility Header
		3b 01 // payload proto 59, header length 1 (16 bytes)
		05 00 // MH type 5 (Binding Update), reserved
		00 00 // checksum (not checked here)
		00 00 00 00 00 00 00 00 00 00 // message data
	`)

	// SCTP INIT (RFC 9260 §3.3.2).
	fxSCTP = pt.MustParseHex(`
		# IPv4
		45 // version 4, IHL 5 (20 bytes)
		00 // TOS 0x00
		00 34 // total length 52
		00 01 // identification 0x0001
		00 00 // no flags, fragment offset 0
		40 // TTL 64
		84 // protocol 132 (SCTP)
		8e 09 // header checksum
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
		# SCTP
		9c a4 // src port 40100
		96 0c // dst port 38412
		00 00 00 00 // verification tag 0 (INIT)
		4a ff 8e fe // CRC32c, least significant byte first
		# INIT chunk
		01 00 00 14 // type 1 (INIT), flags 0, length 20
		5c a1 ab 1e // initiate tag
		00 01 a0 00 // a_rwnd 106496
		00 0a ff ff // outbound streams 10, inbound 65535
		00 00 00 01 // initial TSN 1
	`)

	// DCCP Request (RFC 4340 §5.1, §5.2) over IPv6.
	fxDCCP = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 14 // payload length 20
		21 // next header 33 (DCCP)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# DCCP
		9d 08 // src port 40200
		13 89 // dst port 5001
		05 // data offset 5 (20 bytes)
		00 // CCVal 0, CsCov 0
		aa 50 // checksum
		01 // type 0 (Request), X=1
		00 // reserved
		00 00 12 34 56 78 // sequence number 0x12345678
		68 61 72 65 // service code "hare"
	`)

	// UDP-Lite over IPv6 with checksum coverage 8: the header only (RFC 3828 §3.1).
	fxUDPLite = pt.MustParseHex(`
		# IPv6
		60 00 00 00 // version 6, traffic class 0x00, flow label 0x0
		00 0c // payload length 12
		88 // next header 136 (UDP-Lite)
		40 // hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
		# UDP-Lite
		1b 58 // src port 7000
		1b 59 // dst port 7001
		00 08 // checksum coverage 8
		6d 3d // checksum
		# payload
		61 62 63 64 // 'abcd'
	`)
)

// Headers the malformed fixtures below share: an IPv4 header from 192.0.2.1
// to 198.51.100.7 with total length and protocol spliced in, and an IPv6
// header from 2001:db8::1 to 2001:db8::2. Decode does not check the IPv4
// header checksum (VerifyChecksums does), so it is left zero.
func v4hdr(total int, proto uint8) string {
	return fmt.Sprintf(`
		45 00 %04x // version 4, IHL 5; TOS 0; total length %d
		00 01 00 00 // identification 1; no flags, offset 0
		40 %02x 00 00 // TTL 64; protocol %d; checksum (unset)
		c0 00 02 01 // src 192.0.2.1
		c6 33 64 07 // dst 198.51.100.7
	`, total, total, proto, proto)
}

func v6hdr(plen int, nh uint8) string {
	return fmt.Sprintf(`
		60 00 00 00 // version 6, traffic class 0, flow label 0
		%04x %02x 40 // payload length %d; next header %d; hop limit 64
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 // src 2001:db8::1
		20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 // dst 2001:db8::2
	`, plen, nh, plen, nh)
}

// fxNestedFrag is an atomic Fragment header around a non-first fragment.
var fxNestedFrag = pt.MustParseHex(v6hdr(24, 44) + `
	# Fragment header
	2c 00 // next header 44 (Fragment), reserved
	00 00 // offset 0, M=0: atomic
	00 00 00 01 // identification 1
	# Fragment header
	11 00 // next header 17 (UDP), reserved
	00 08 // offset 8, M=0: the last fragment
	00 00 00 02 // identification 2
	# fragment data
	61 62 63 64 65 66 67 68 // 'abcdefgh'
`)

// malformedTests are truncated or malformed headers of each kind: the
// Reason Decode gives, the protocol it got as far as, and whether it still
// decoded the transport header (fields up to the faulty header are valid).
var malformedTests = []struct {
	name   string
	link   packet.LinkType
	in     string // commented hex
	reason packet.Reason
	proto  packet.IPProto
	hasL4  bool
	anom   packet.Anomaly
}{
	{name: "link/ethernet-truncated", link: packet.LinkEthernet, reason: packet.ReasonLinkTruncated,
		in: `02 00 5e 10 00 02  02 00 5e 10 // dst MAC, 4 bytes of the src MAC: 10 of 14 bytes`},
	{name: "link/unsupported", link: 147 /* USER0 */, reason: packet.ReasonUnsupportedLink,
		in: v4hdr(20, 59)},
	{name: "link/sll-truncated", link: packet.LinkLinuxSLL, reason: packet.ReasonLinkTruncated,
		in: `00 00 00 01 00 06 02 00 5e 10 00 01 // 12 of the 16 bytes of a cooked header`},
	{name: "link/sll2-truncated", link: packet.LinkLinuxSLL2, reason: packet.ReasonLinkTruncated,
		in: `08 00 00 00 00 00 00 01 // 8 of the 20 bytes of a cooked v2 header`},
	{name: "link/null-truncated", link: packet.LinkNull, reason: packet.ReasonLinkTruncated,
		in: `02 00 // half an address family`},
	{name: "link/nflog-without-payload", link: packet.LinkNFLOG, reason: packet.ReasonNFLOGMalformed,
		in: `02 00 00 00 // nfgenmsg: AF_INET
		     08 00 01 00  08 00 01 00 // NFULA_PACKET_HDR only, no NFULA_PAYLOAD`},
	{name: "link/nflog-tlv-overrun", link: packet.LinkNFLOG, reason: packet.ReasonNFLOGMalformed,
		in: `02 00 00 00 // nfgenmsg: AF_INET
		     40 00 09 00  45 00 // NFULA_PAYLOAD claiming 64 bytes, 2 present`},
	{name: "link/vlan-tag-truncated", link: packet.LinkEthernet, reason: packet.ReasonLinkTruncated,
		in: `02 00 5e 10 00 02  02 00 5e 10 00 01 // dst, src
		     81 00 // TPID 0x8100
		     00 64 // TCI: VLAN 100, then no inner EtherType`},
	{name: "ip/version-nibble-5", link: packet.LinkRaw, reason: packet.ReasonIPVersion,
		in: `55 00 00 14 00 01 00 00 40 3b 00 00 c0 00 02 01 c6 33 64 07 // version 5`},
	{name: "ip/ethertype-ipv4-carrying-ipv6", link: packet.LinkEthernet, reason: packet.ReasonIPVersion,
		in: `02 00 5e 10 00 02  02 00 5e 10 00 01  08 00 // EtherType IPv4` + v6hdr(0, 59)},
	{name: "ipv4/truncated", link: packet.LinkIPv4, reason: packet.ReasonIPv4Truncated,
		in: `45 00 00 14 00 01 00 00 40 3b // 10 of 20 bytes`},
	{name: "ipv4/ihl-below-5", link: packet.LinkIPv4, reason: packet.ReasonIPv4BadIHL,
		in: `44 00 00 14 00 01 00 00 40 3b 00 00 c0 00 02 01 c6 33 64 07 // IHL 4 (RFC 791 §3.1: minimum 5)`},
	{name: "ipv4/ihl-past-capture", link: packet.LinkIPv4, reason: packet.ReasonIPv4Truncated,
		in: `46 00 00 18 00 01 00 00 40 3b 00 00 c0 00 02 01 c6 33 64 07 // IHL 6: 24 bytes, 20 captured`},
	{name: "ipv4/total-length-below-ihl", link: packet.LinkIPv4, reason: packet.ReasonIPv4BadLength,
		proto: packet.ProtoUDP, hasL4: true, // decoding goes on with the captured length (TSO captures)
		in: `45 00 00 0a // total length 10
		     00 01 00 00 40 11 00 00 c0 00 02 01 c6 33 64 07 // protocol 17
		     00 35 00 35 00 08 00 00 // UDP 53 > 53, length 8`},
	{name: "ipv4/snaplen-cut", link: packet.LinkIPv4, reason: packet.ReasonIPTruncated,
		proto: packet.ProtoUDP, hasL4: true,
		in: v4hdr(100, 17) + `00 35 00 35 00 50 00 00 // UDP 53 > 53, length 80; the rest was not captured`},
	{name: "ipv6/truncated", link: packet.LinkIPv6, reason: packet.ReasonIPv6Truncated,
		in: `60 00 00 00 00 00 3b 40 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 // 22 of 40 bytes`},
	{name: "EH-05/dest-opts-past-datagram", link: packet.LinkIPv6, reason: packet.ReasonExtTruncated,
		proto: packet.ProtoDestOpts,
		in: v6hdr(8, 60) + `3b 01 // next header 59, length 1: 16 bytes
		     01 04 00 00 00 00 // PadN; the datagram ends after 8 bytes`},
	{name: "EH-06/padn-overruns-header", link: packet.LinkIPv6, reason: packet.ReasonExtBadOption,
		proto: packet.ProtoUDP, hasL4: true, // the header length is sound, so the walk goes on
		in: v6hdr(16, 60) + `11 00 // next header 17, length 0: 8 bytes
		     01 05 00 00 00 00 // PadN claiming 5 data bytes, 4 left in the header
		     00 35 00 35 00 08 00 00 // UDP`},
	{name: "FR-05/fragment-not-multiple-of-8", link: packet.LinkIPv6, reason: packet.ReasonFragBadLength,
		proto: packet.ProtoUDP, hasL4: true,
		in: v6hdr(20, 44) + `11 00 00 01 00 00 00 01 // Fragment: next UDP, offset 0, M=1, id 1
		     00 35 00 35 00 40 00 00  de ad be ef // 12 bytes of fragment: not a multiple of 8`},
	{name: "FR-06/fragment-past-65535", link: packet.LinkIPv6, reason: packet.ReasonFragTooBig,
		proto: packet.ProtoUDP,
		in: v6hdr(24, 44) + `11 00 ff f8 00 00 00 01 // Fragment: next UDP, offset 65528, M=0, id 1
		     00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00 // 16 bytes: ends at 65544`},
	{name: "RFC4302-2.2/ipv6-ah-short", link: packet.LinkIPv6, anom: packet.AnomalyAHShort,
		proto: packet.ProtoNoNext, // Linux ipv6_skip_exthdr walks past a short AH, so does Decode
		in: v6hdr(8, 51) + `3b 00 // AH: next header 59, payload len 0 (8 bytes; 12 is the minimum)
		     00 00 00 00 10 01 // reserved, SPI 0x1001 (no room for the sequence number)`},
	{name: "ipv4/ah-truncated", link: packet.LinkIPv4, reason: packet.ReasonAHTruncated, proto: packet.ProtoAH,
		in: v4hdr(28, 51) + `3b 01 00 00 00 00 10 01 // 8 of the 12 bytes of an AH`},
	{name: "ipv4/esp-truncated", link: packet.LinkIPv4, reason: packet.ReasonESPTruncated, proto: packet.ProtoESP,
		in: v4hdr(24, 50) + `00 00 10 01 // SPI only; no sequence number`},
	{name: "tcp/truncated", link: packet.LinkIPv4, reason: packet.ReasonTCPTruncated, proto: packet.ProtoTCP,
		in: v4hdr(32, 6) + `9c 40 00 16  00 00 00 01  00 00 00 00 // ports, seq, ack: 12 of 20 bytes`},
	{name: "tcp/data-offset-below-5", link: packet.LinkIPv4, reason: packet.ReasonTCPBadDataOffset,
		proto: packet.ProtoTCP, hasL4: true,
		in: v4hdr(40, 6) + `9c 40 00 16  00 00 00 01  00 00 00 00
		     40 02 // data offset 4 (16 bytes), SYN
		     ff ff 00 00 00 00 // window, checksum, urgent`},
	{name: "tcp/data-offset-past-segment", link: packet.LinkIPv4, reason: packet.ReasonTCPBadDataOffset,
		proto: packet.ProtoTCP, hasL4: true,
		in: v4hdr(40, 6) + `9c 40 00 16  00 00 00 01  00 00 00 00
		     f0 02 // data offset 15 (60 bytes) in a 20-byte segment, SYN
		     ff ff 00 00 00 00 // window, checksum, urgent`},
	{name: "tcp/option-length-1", link: packet.LinkIPv4, reason: packet.ReasonTCPBadOption,
		proto: packet.ProtoTCP, hasL4: true,
		in: v4hdr(44, 6) + `9c 40 00 16  00 00 00 01  00 00 00 00
		     60 02 // data offset 6 (24 bytes), SYN
		     ff ff 00 00 00 00 // window, checksum, urgent
		     02 01 05 b4 // MSS option with length 1`},
	{name: "udp/truncated", link: packet.LinkIPv4, reason: packet.ReasonUDPTruncated, proto: packet.ProtoUDP,
		in: v4hdr(24, 17) + `00 35 00 35 // ports only`},
	{name: "udp/length-below-8", link: packet.LinkIPv4, reason: packet.ReasonUDPBadLength,
		proto: packet.ProtoUDP, hasL4: true,
		in: v4hdr(28, 17) + `00 35 00 35 00 04 00 00 // length 4`},
	{name: "udp/length-past-datagram", link: packet.LinkIPv4, reason: packet.ReasonUDPBadLength,
		proto: packet.ProtoUDP, hasL4: true,
		in: v4hdr(28, 17) + `00 35 00 35 00 64 00 00 // length 100 in an 8-byte datagram`},
	{name: "RFC3828-3.1/udplite-coverage-4", link: packet.LinkIPv4, reason: packet.ReasonUDPLiteBadCoverage,
		proto: packet.ProtoUDPLite, hasL4: true,
		in: v4hdr(28, 136) + `00 35 00 35 00 04 00 00 // checksum coverage 4`},
	{name: "sctp/truncated", link: packet.LinkIPv4, reason: packet.ReasonSCTPTruncated, proto: packet.ProtoSCTP,
		in: v4hdr(28, 132) + `9c 40 96 0c 00 00 00 00 // ports, verification tag; no checksum`},
	{name: "RFC9260-3.2/sctp-chunk-length-2", link: packet.LinkIPv4, reason: packet.ReasonSCTPBadChunk,
		proto: packet.ProtoSCTP, hasL4: true,
		in: v4hdr(36, 132) + `9c 40 96 0c 00 00 00 00 00 00 00 00 // common header
		     01 00 00 02 // INIT chunk with length 2`},
	{name: "dccp/truncated", link: packet.LinkIPv4, reason: packet.ReasonDCCPTruncated, proto: packet.ProtoDCCP,
		in: v4hdr(28, 33) + `9d 08 13 89 05 00 00 00 // 8 of 12 bytes`},
	{name: "RFC4340-5.1/dccp-data-offset-2", link: packet.LinkIPv4, reason: packet.ReasonDCCPBadOffset,
		proto: packet.ProtoDCCP, hasL4: true,
		in: v4hdr(36, 33) + `9d 08 13 89 // ports
		     02 00 00 00 // data offset 2 (8 bytes), below the 16-byte header; CCVal, CsCov, checksum
		     01 00 00 00 00 00 00 01 // Request, X=1, sequence number 1`},
	{name: "gre/truncated", link: packet.LinkIPv4, reason: packet.ReasonGRETruncated, proto: packet.ProtoGRE,
		in: v4hdr(22, 47) + `00 00 // flags only`},
	{name: "gre/version-2", link: packet.LinkIPv4, reason: packet.ReasonGREBadVersion,
		proto: packet.ProtoGRE, hasL4: true,
		in: v4hdr(24, 47) + `00 02 08 00 // version 2, protocol IPv4`},
	{name: "icmp4/truncated", link: packet.LinkIPv4, reason: packet.ReasonICMPTruncated, proto: packet.ProtoICMP,
		in: v4hdr(24, 1) + `08 00 00 00 // type, code, checksum; no identifier`},
	{name: "icmp4/error-without-quote", link: packet.LinkIPv4, reason: packet.ReasonICMPBadQuote,
		proto: packet.ProtoICMP, hasL4: true,
		in: v4hdr(28, 1) + `03 03 00 00 00 00 00 00 // port unreachable, nothing quoted`},
	{name: "icmp6/truncated", link: packet.LinkIPv6, reason: packet.ReasonICMPTruncated, proto: packet.ProtoICMPv6,
		in: v6hdr(2, 58) + `80 00 // type 128, code 0; no checksum`},
}

// decodeTests are the fixtures with the complete Parsed each must decode
// to. A fixture with bug set documents a decoder bug: the test logs the
// difference and skips until the decoder is fixed, then fails so the note is
// removed.
var decodeTests = []struct {
	name string
	link packet.LinkType
	in   []byte
	want packet.Parsed
	bug  string
}{
	{
		name: "tcp4-syn-options", link: packet.LinkEthernet, in: fxTCP4SYN,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x0800, L3Off: 14,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 60,
			Frag:  packet.Frag{ID: 0x1c46, DF: true},
			Proto: packet.ProtoTCP, L4Off: 34, L4Len: 40, SrcPort: 40000, DstPort: 443,
			TCP: packet.TCP{Seq: 0x11223344, Flags: packet.TCPSyn, Window: 64240, DataOff: 40,
				Opts: packet.OptMSS | packet.OptSACKPerm | packet.OptTimestamp | packet.OptWScale,
				MSS:  1460, WScale: 7, TSVal: 100},
		},
	},
	{
		name: "udp6", link: packet.LinkEthernet, in: fxUDP6,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x86dd, L3Off: 14,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, FlowLabel: 0x12345, L3Len: 53,
			Proto: packet.ProtoUDP, L4Off: 54, L4Len: 13, SrcPort: 5353, DstPort: 53, UDPLen: 13,
		},
	},
	{
		// K-01: Linux ipv6_skip_exthdr walks HBH, DO, RH and DO to TCP; the
		// order is the recommended one (RFC 8200 §4.1), so no anomaly. The
		// DO before the RH is for the intermediate destinations.
		name: "K-01/tcp6-behind-hbh-do-rh2-do", link: packet.LinkEthernet, in: fxTCP6Chain,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x86dd, L3Off: 14,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 116,
			Ext: packet.ExtChain{
				Hdrs: exts(
					packet.ExtHeader{Kind: packet.ExtHopByHop, Off: 54, Len: 8},
					packet.ExtHeader{Kind: packet.ExtDestOptsPreRH, Off: 62, Len: 8},
					packet.ExtHeader{Kind: packet.ExtRouting, Off: 70, Len: 24},
					packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 94, Len: 8}),
				N: 4, Count: 4, Len: 48,
				Seen:        extSet(packet.ExtHopByHop, packet.ExtDestOptsPreRH, packet.ExtRouting, packet.ExtDestOpts),
				RoutingType: 2,
			},
			Proto: packet.ProtoTCP, L4Off: 102, L4Len: 28, SrcPort: 40001, DstPort: 80,
			TCP: packet.TCP{Seq: 1, Flags: packet.TCPSyn, Window: 65535, DataOff: 28,
				Opts: packet.OptMSS | packet.OptSACKPerm, MSS: 1440},
		},
	},
	{
		// RFC 8200 §4.5: the first fragment carries the upper-layer header,
		// and it is decoded; the UDP length covers the whole datagram.
		name: "RFC8200-4.5/frag6-first", link: packet.LinkEthernet, in: fxFrag6First,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x86dd, L3Off: 14,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 72,
			Frag: packet.Frag{Kind: packet.FragFirst, ID: 0xdeadbeef, More: true, HdrOff: 54},
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtFragment, Off: 54, Len: 8}),
				N: 1, Count: 1, Len: 8, Seen: extSet(packet.ExtFragment)},
			Proto: packet.ProtoUDP, L4Off: 62, L4Len: 24, SrcPort: 4000, DstPort: 4001, UDPLen: 32,
		},
	},
	{
		// K-04: a non-first fragment has no transport header; Proto is the
		// Fragment header's Next Header.
		name: "K-04/frag6-later", link: packet.LinkEthernet, in: fxFrag6Later,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x86dd, L3Off: 14,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 56,
			Frag: packet.Frag{Kind: packet.FragLater, ID: 0xdeadbeef, Offset: 24, HdrOff: 54},
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtFragment, Off: 54, Len: 8}),
				N: 1, Count: 1, Len: 8, Seen: extSet(packet.ExtFragment)},
			Proto: packet.ProtoUDP,
		},
	},
	{
		// FR-11, RFC 6946 §4: an atomic fragment is a whole packet.
		name: "FR-11/atomic-fragment", link: packet.LinkEthernet, in: fxAtomic6,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x86dd, L3Off: 14,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 60,
			Frag: packet.Frag{Kind: packet.FragAtomic, ID: 0xabcd, HdrOff: 54},
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtFragment, Off: 54, Len: 8}),
				N: 1, Count: 1, Len: 8, Seen: extSet(packet.ExtFragment)},
			Proto: packet.ProtoICMPv6, L4Off: 62, L4Len: 12,
			ICMP: packet.ICMP{Type: 128, ID: 0x0700, Seq: 1},
		},
	},
	{
		// K-03: the walk stops at No Next Header; FR-15: the 4 bytes after
		// it are ignored but flagged.
		name: "K-03/no-next-header", link: packet.LinkRaw, in: fxNoNext6,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 60,
			Ext: packet.ExtChain{
				Hdrs: exts(
					packet.ExtHeader{Kind: packet.ExtHopByHop, Off: 40, Len: 8},
					packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 48, Len: 8},
					packet.ExtHeader{Kind: packet.ExtNoNext, Off: 56}),
				N: 3, Count: 3, Len: 16, Seen: extSet(packet.ExtHopByHop, packet.ExtDestOpts, packet.ExtNoNext)},
			Proto: packet.ProtoNoNext, Anomalies: packet.AnomalyExtAfterNoNext,
		},
	},
	{
		// EH-08, RFC 5095 §3: RH0 is flagged, not executed; the walk goes on
		// to UDP whatever Segments Left says, as ipv6_skip_exthdr does.
		name: "EH-08/rh0", link: packet.LinkRaw, in: fxRH0,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 72,
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtRouting, Off: 40, Len: 24}),
				N: 1, Count: 1, Len: 24, Seen: extSet(packet.ExtRouting), SegmentsLeft: 1},
			Proto: packet.ProtoUDP, L4Off: 64, L4Len: 8, SrcPort: 1024, DstPort: 53, UDPLen: 8,
			Anomalies: packet.AnomalyRH0,
		},
	},
	{
		// EH-01, RFC 8200 §4.3: HBH after DO is out of place and out of order.
		name: "EH-01/hbh-not-first", link: packet.LinkRaw, in: fxHBHNotFirst,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 64,
			Ext: packet.ExtChain{
				Hdrs: exts(
					packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 40, Len: 8},
					packet.ExtHeader{Kind: packet.ExtHopByHop, Off: 48, Len: 8}),
				N: 2, Count: 2, Len: 16, Seen: extSet(packet.ExtDestOpts, packet.ExtHopByHop)},
			Proto: packet.ProtoUDP, L4Off: 56, L4Len: 8, SrcPort: 1024, DstPort: 53, UDPLen: 8,
			Anomalies: packet.AnomalyHBHNotFirst | packet.AnomalyExtOrder,
		},
	},
	{
		// EH-04, RFC 8200 §4.1: any number of DO must be accepted; more
		// than the recommended count is an anomaly, not an error.
		name: "EH-04/dest-opts-x3", link: packet.LinkRaw, in: fxDO3,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 84,
			Ext: packet.ExtChain{
				Hdrs: exts(
					packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 40, Len: 8},
					packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 48, Len: 8},
					packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 56, Len: 8}),
				N: 3, Count: 3, Len: 24, Seen: extSet(packet.ExtDestOpts)},
			Proto: packet.ProtoTCP, L4Off: 64, L4Len: 20, SrcPort: 40002, DstPort: 22,
			TCP:       packet.TCP{Seq: 5, Flags: packet.TCPSyn, Window: 1024, DataOff: 20},
			Anomalies: packet.AnomalyExtRepeated,
		},
	},
	{
		// K-17, RFC 6275 §6.3: the Home Address option is flagged; the
		// addresses stay those of the IPv6 header (the care-of address).
		name: "K-17/home-address-option", link: packet.LinkRaw, in: fxHAO,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 72,
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 40, Len: 24}),
				N: 1, Count: 1, Len: 24, Seen: extSet(packet.ExtDestOpts)},
			Proto: packet.ProtoUDP, L4Off: 64, L4Len: 8, SrcPort: 434, DstPort: 434, UDPLen: 8,
			Anomalies: packet.AnomalyHomeAddress,
		},
	},
	{
		// K-09, FR-08, RFC 7112 §5: the first fragment must hold the whole
		// chain and the transport header; this one does not.
		name: "K-09/first-fragment-incomplete-chain", link: packet.LinkRaw, in: fxFragIncomplete,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 64,
			Frag: packet.Frag{Kind: packet.FragFirst, ID: 0x7112, More: true, HdrOff: 40},
			Ext: packet.ExtChain{
				Hdrs: exts(
					packet.ExtHeader{Kind: packet.ExtFragment, Off: 40, Len: 8},
					packet.ExtHeader{Kind: packet.ExtDestOpts, Off: 48, Len: 16}),
				N: 2, Count: 2, Len: 24, Seen: extSet(packet.ExtFragment, packet.ExtDestOpts)},
			Proto: packet.ProtoTCP, Reason: packet.ReasonFragIncomplete,
		},
	},
	{
		// K-02: ESP ends the walk and is the protocol; its SPI is read.
		name: "K-02/esp6", link: packet.LinkRaw, in: fxESP6,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 64,
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtESP, Off: 40}),
				N: 1, Count: 1, Seen: extSet(packet.ExtESP)},
			Proto: packet.ProtoESP, L4Off: 40, L4Len: 24, SPI: 0x1001,
		},
	},
	{
		// Nested Fragment headers (THC fragmentation6, the capture
		// ipv6_frag_nested-fragment-header_paramprob.pcap): an atomic
		// Fragment header is a whole packet (RFC 6946 §4), so what decides
		// is the Fragment header inside it, a non-first fragment here. The
		// packet has no transport header and must reach reassembly as one
		// (K-04), so Frag must describe the inner header, not say "atomic".
		name: "RFC6946/atomic-then-later-fragment", link: packet.LinkRaw, in: fxNestedFrag,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 64,
			Frag: packet.Frag{Kind: packet.FragLater, ID: 2, Offset: 8, HdrOff: 48},
			Ext: packet.ExtChain{
				Hdrs: exts(
					packet.ExtHeader{Kind: packet.ExtFragment, Off: 40, Len: 8},
					packet.ExtHeader{Kind: packet.ExtFragment, Off: 48, Len: 8}),
				N: 2, Count: 2, Len: 16, Seen: extSet(packet.ExtFragment)},
			Proto: packet.ProtoUDP, Anomalies: packet.AnomalyExtRepeated,
		},
	},
	{
		// K-01: AH is walked past (length in 4-byte units, RFC 4302 §2.2).
		// Parsed.SPI documents "AH SPI when an AH was seen (… an IPv6 AH
		// extension header)".
		name: "K-01/ah6-icmpv6", link: packet.LinkRaw, in: fxAH6,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 76,
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtAH, Off: 40, Len: 24}),
				N: 1, Count: 1, Len: 24, Seen: extSet(packet.ExtAH)},
			Proto: packet.ProtoICMPv6, L4Off: 64, L4Len: 12, SPI: 0xbeef,
			ICMP: packet.ICMP{Type: 128, ID: 0x0701, Seq: 2},
		},
	},
	{
		name: "RFC792/icmp4-echo", link: packet.LinkEthernet, in: fxICMP4Echo,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x0800, L3Off: 14,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 36,
			Frag:  packet.Frag{ID: 0x2a2a},
			Proto: packet.ProtoICMP, L4Off: 34, L4Len: 16,
			ICMP: packet.ICMP{Type: 8, ID: 0x0d0e, Seq: 9},
		},
	},
	{
		// K-12: the quote gives the tuple of the flow the error is about.
		name: "RFC792/icmp4-port-unreachable-quoting-udp", link: packet.LinkEthernet, in: fxICMP4Unreach,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x0800, L3Off: 14,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 56,
			Frag:  packet.Frag{ID: 0x4242},
			Proto: packet.ProtoICMP, L4Off: 34, L4Len: 36,
			ICMP: packet.ICMP{Type: 3, Code: 3, IsError: true},
			Quote: packet.Quote{IPVersion: 4, Src: fxD4, Dst: fxS4, Proto: packet.ProtoUDP, L3Len: 29,
				Frag: packet.Frag{ID: 0x3131}, HasL4: true, SrcPort: 33434, DstPort: 514, Off: 42},
		},
	},
	{
		// K-12, RFC 4443 §3.2: the quoted chain is walked to TCP.
		name: "K-12/icmp6-ptb-quoting-tcp-behind-do", link: packet.LinkEthernet, in: fxPTB6,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x86dd, L3Off: 14,
			IPVersion: 6, Src: fxR6, Dst: fxS6, HopLimit: 64, L3Len: 116,
			Proto: packet.ProtoICMPv6, L4Off: 54, L4Len: 76,
			ICMP: packet.ICMP{Type: 2, IsError: true, MTU: 1280},
			Quote: packet.Quote{IPVersion: 6, Src: fxS6, Dst: fxD6, Proto: packet.ProtoTCP, L3Len: 1468,
				ExtSeen: extSet(packet.ExtDestOpts), HasL4: true, SrcPort: 40003, DstPort: 443,
				TCPSeq: 0xabcdef01, Off: 62},
		},
	},
	{
		name: "802.1Q", link: packet.LinkEthernet, in: fxDot1Q,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x0800, VLAN: [2]uint16{100}, NumVLAN: 1, L3Off: 18,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 28, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoUDP, L4Off: 38, L4Len: 8, SrcPort: 123, DstPort: 123, UDPLen: 8,
		},
	},
	{
		name: "802.1ad-QinQ", link: packet.LinkEthernet, in: fxQinQ,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x86dd, VLAN: [2]uint16{200, 100}, NumVLAN: 2, L3Off: 22,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 52,
			Proto: packet.ProtoICMPv6, L4Off: 62, L4Len: 12,
			ICMP: packet.ICMP{Type: 128, ID: 1, Seq: 1},
		},
	},
	{
		name: "linux-sll", link: packet.LinkLinuxSLL, in: fxSLL,
		want: packet.Parsed{
			Link: packet.LinkLinuxSLL, EtherType: 0x0800, L3Off: 16,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 40, Frag: packet.Frag{ID: 5},
			Proto: packet.ProtoTCP, L4Off: 36, L4Len: 20, SrcPort: 40004, DstPort: 25,
			TCP: packet.TCP{Seq: 100, Ack: 200, Flags: packet.TCPAck, Window: 1000, DataOff: 20},
		},
	},
	{
		name: "linux-sll2", link: packet.LinkLinuxSLL2, in: fxSLL2,
		want: packet.Parsed{
			Link: packet.LinkLinuxSLL2, EtherType: 0x86dd, L3Off: 20,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 48,
			Proto: packet.ProtoUDP, L4Off: 60, L4Len: 8, SrcPort: 547, DstPort: 546, UDPLen: 8,
		},
	},
	{
		name: "null-little-endian", link: packet.LinkNull, in: fxNullLE,
		want: packet.Parsed{
			Link: packet.LinkNull, EtherType: 0x0800, L3Off: 4,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 28, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoUDP, L4Off: 24, L4Len: 8, SrcPort: 5000, DstPort: 5001, UDPLen: 8,
		},
	},
	{
		name: "null-big-endian-freebsd-inet6", link: packet.LinkNull, in: fxNullBE,
		want: packet.Parsed{
			Link: packet.LinkNull, EtherType: 0x86dd, L3Off: 4,
			IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 48,
			Proto: packet.ProtoUDP, L4Off: 44, L4Len: 8, SrcPort: 5000, DstPort: 5001, UDPLen: 8,
		},
	},
	{
		name: "loop", link: packet.LinkLoop, in: fxLoop,
		want: packet.Parsed{
			Link: packet.LinkLoop, EtherType: 0x0800, L3Off: 4,
			IPVersion: 4, Src: fxD4, Dst: fxS4, HopLimit: 64, IHL: 20, L3Len: 28, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoICMP, L4Off: 24, L4Len: 8,
			ICMP: packet.ICMP{Type: 0, ID: 0x0d0e, Seq: 9},
		},
	},
	{
		name: "nflog", link: packet.LinkNFLOG, in: fxNFLOG,
		want: packet.Parsed{
			Link: packet.LinkNFLOG, EtherType: 0x0800, L3Off: 28,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 40, Frag: packet.Frag{ID: 0x77},
			Proto: packet.ProtoTCP, L4Off: 48, L4Len: 20, SrcPort: 40005, DstPort: 80,
			TCP: packet.TCP{Seq: 1000, Flags: packet.TCPSyn, Window: 29200, DataOff: 20},
		},
	},
	{
		name: "raw-ipv4", link: packet.LinkRaw, in: fxRaw4,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x0800,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 1, IHL: 20, L3Len: 28, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoUDP, L4Off: 20, L4Len: 8, SrcPort: 68, DstPort: 67, UDPLen: 8,
		},
	},
	{
		// The same packet as raw-ipv4 under LINKTYPE_IPV4: every other
		// link type without an EtherType of its own (RAW, NULL, LOOP,
		// NFLOG) reports the one the IP version implies.
		name: "linktype-ipv4", link: packet.LinkIPv4, in: fxRaw4,
		want: packet.Parsed{
			Link: packet.LinkIPv4, EtherType: 0x0800,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 1, IHL: 20, L3Len: 28, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoUDP, L4Off: 20, L4Len: 8, SrcPort: 68, DstPort: 67, UDPLen: 8,
		},
	},
	{
		name: "raw-ipv6", link: packet.LinkRaw, in: fxRaw6,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd,
			IPVersion: 6, Src: fxS6, Dst: fxD6, TOS: 0xb8, HopLimit: 255, L3Len: 60,
			Proto: packet.ProtoTCP, L4Off: 40, L4Len: 20, SrcPort: 40006, DstPort: 8080,
			TCP: packet.TCP{Seq: 1, Ack: 2, Flags: packet.TCPFin | packet.TCPAck, Window: 1024, DataOff: 20},
		},
	},
	{
		// RFC 4213: the outer packet is what Decode gives; DecodeInner the rest.
		name: "6in4", link: packet.LinkEthernet, in: fx6in4,
		want: packet.Parsed{
			Link: packet.LinkEthernet, EtherType: 0x0800, L3Off: 14,
			IPVersion: 4, Src: netip.MustParseAddr("203.0.113.1"), Dst: netip.MustParseAddr("203.0.113.2"),
			HopLimit: 64, IHL: 20, L3Len: 68, Frag: packet.Frag{ID: 9},
			Proto: packet.ProtoIPv6, L4Off: 34, L4Len: 48, Tunnel: packet.Tunnel6in4, InnerOff: 34,
		},
	},
	{
		// RFC 4380 §5.1.1: the origin indication is skipped.
		name: "teredo", link: packet.LinkRaw, in: fxTeredo,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x0800,
			IPVersion: 4, Src: netip.MustParseAddr("192.0.2.50"), Dst: netip.MustParseAddr("198.51.100.60"),
			HopLimit: 64, IHL: 20, L3Len: 84, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoUDP, L4Off: 20, L4Len: 64, SrcPort: 3544, DstPort: 40000, UDPLen: 64,
			Tunnel: packet.TunnelTeredo, InnerOff: 36,
		},
	},
	{
		name: "gre-v0-key", link: packet.LinkRaw, in: fxGRE,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x0800,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 56, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoGRE, L4Off: 20, L4Len: 36,
			GRE:    packet.GRE{Flags: 0x2000, Protocol: 0x0800, Key: 0x1001, HasKey: true},
			Tunnel: packet.TunnelGRE, InnerOff: 28,
		},
	},
	{
		name: "gre-v1-pptp", link: packet.LinkRaw, in: fxPPTP,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x0800,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 36, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoGRE, L4Off: 20, L4Len: 16,
			GRE: packet.GRE{Version: 1, Flags: 0x3001, Protocol: 0x880b, Key: 0x0004002a, HasKey: true, CallID: 42},
		},
	},
	{
		// K-02: Mobility (135) is not skipped: it is the protocol, and
		// its MH Type is recorded (RFC 6275 §6.1.1).
		name: "K-02/mobility-header", link: packet.LinkRaw, in: fxMobility,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 56,
			Ext: packet.ExtChain{Hdrs: exts(packet.ExtHeader{Kind: packet.ExtMobility, Off: 40, Len: 16}),
				N: 1, Count: 1, Seen: extSet(packet.ExtMobility), MobilityType: 5},
			Proto: packet.ProtoMobility, L4Off: 40, L4Len: 16,
		},
	},
	{
		name: "RFC9260/sctp-init", link: packet.LinkRaw, in: fxSCTP,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x0800,
			IPVersion: 4, Src: fxS4, Dst: fxD4, HopLimit: 64, IHL: 20, L3Len: 52, Frag: packet.Frag{ID: 1},
			Proto: packet.ProtoSCTP, L4Off: 20, L4Len: 32, SrcPort: 40100, DstPort: 38412,
			SCTP: packet.SCTP{FirstChunk: 1, Chunks: 1 << 1, NumChunks: 1},
		},
	},
	{
		name: "RFC4340/dccp-request", link: packet.LinkRaw, in: fxDCCP,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 60,
			Proto: packet.ProtoDCCP, L4Off: 40, L4Len: 20, SrcPort: 40200, DstPort: 5001,
		},
	},
	{
		name: "RFC3828/udplite-coverage-8", link: packet.LinkRaw, in: fxUDPLite,
		want: packet.Parsed{
			Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 52,
			Proto: packet.ProtoUDPLite, L4Off: 40, L4Len: 12, SrcPort: 7000, DstPort: 7001, UDPLen: 8,
		},
	},
}

func TestDecodeFixtures(t *testing.T) {
	var p, again packet.Parsed
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			p.Decode(tt.in, tt.link)
			diff := diffExported(tt.want, p)
			if tt.bug != "" {
				if len(diff) == 0 {
					t.Fatalf("decoder bug %q is fixed: remove the note", tt.bug)
				}
				t.Skipf("known decoder bug: %s (-want +got):\n%s", tt.bug, strings.Join(diff, "\n"))
			}
			if len(diff) > 0 {
				t.Errorf("Decode mismatch (-want +got):\n%s", strings.Join(diff, "\n"))
			}
			// Decode is idempotent and keeps nothing from the previous packet.
			again.Decode(fxUDP6, packet.LinkEthernet)
			again.Decode(tt.in, tt.link)
			if d := diffExported(p, again); len(d) > 0 {
				t.Errorf("second Decode differs:\n%s", strings.Join(d, "\n"))
			}
			// A clean fixture has valid checksums (the RH0 one is checked
			// in TestVerifyChecksums).
			if tt.want.Reason == packet.ReasonNone && tt.name != "EH-08/rh0" {
				if r := p.VerifyChecksums(); r != packet.ReasonNone {
					t.Errorf("VerifyChecksums = %v", r)
				}
			}
		})
	}
}

// TestDecodeInner decodes the inner packet of each tunnel fixture.
func TestDecodeInner(t *testing.T) {
	tests := []struct {
		name string
		link packet.LinkType
		in   []byte
		want packet.Parsed
	}{
		{
			name: "6in4", link: packet.LinkEthernet, in: fx6in4,
			want: packet.Parsed{
				Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6, Src: fxS6, Dst: fxD6, HopLimit: 64, L3Len: 48,
				Proto: packet.ProtoUDP, L4Off: 40, L4Len: 8, SrcPort: 1000, DstPort: 2000, UDPLen: 8,
			},
		},
		{
			name: "teredo", link: packet.LinkRaw, in: fxTeredo,
			want: packet.Parsed{
				Link: packet.LinkRaw, EtherType: 0x86dd, IPVersion: 6,
				Src: netip.MustParseAddr("2001::4136:e378:8000:63bf:3fff:fdd2"), Dst: fxD6, HopLimit: 64, L3Len: 48,
				Proto: packet.ProtoICMPv6, L4Off: 40, L4Len: 8, ICMP: packet.ICMP{Type: 128, ID: 2, Seq: 3},
			},
		},
		{
			name: "gre-v0-key", link: packet.LinkRaw, in: fxGRE,
			want: packet.Parsed{
				Link: packet.LinkRaw, EtherType: 0x0800, IPVersion: 4,
				Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), HopLimit: 64, IHL: 20, L3Len: 28,
				Frag: packet.Frag{ID: 1}, Proto: packet.ProtoICMP, L4Off: 20, L4Len: 8,
				ICMP: packet.ICMP{Type: 8, ID: 0x7777, Seq: 1},
			},
		},
	}
	var outer, inner packet.Parsed
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outer.Decode(tt.in, tt.link)
			if !outer.DecodeInner(&inner) {
				t.Fatalf("DecodeInner found no inner packet (tunnel %v)", outer.Tunnel)
			}
			if d := diffExported(tt.want, inner); len(d) > 0 {
				t.Errorf("inner mismatch (-want +got):\n%s", strings.Join(d, "\n"))
			}
			if r := inner.VerifyChecksums(); r != packet.ReasonNone {
				t.Errorf("inner VerifyChecksums = %v", r)
			}
		})
	}
	outer.Decode(fxPPTP, packet.LinkRaw)
	if outer.DecodeInner(&inner) {
		t.Error("PPTP GRE carries PPP, which must not be decapsulated")
	}
}

func TestDecodeMalformed(t *testing.T) {
	var p packet.Parsed
	for _, tt := range malformedTests {
		t.Run(tt.name, func(t *testing.T) {
			p.Decode(pt.MustParseHex(tt.in), tt.link)
			if p.Reason != tt.reason {
				t.Errorf("Reason = %v, want %v", p.Reason, tt.reason)
			}
			if p.Proto != tt.proto {
				t.Errorf("Proto = %v, want %v", p.Proto, tt.proto)
			}
			if p.HasTransport() != tt.hasL4 {
				t.Errorf("HasTransport = %v, want %v", p.HasTransport(), tt.hasL4)
			}
			if p.Anomalies != tt.anom {
				t.Errorf("Anomalies = %q, want %q", p.Anomalies, tt.anom)
			}
			if r := p.VerifyChecksums(); r != packet.ReasonNone && !r.IsChecksum() {
				t.Errorf("VerifyChecksums returned %v", r)
			}
		})
	}
}

// TestVerifyChecksums corrupts one checksum of a fixture at a time.
func TestVerifyChecksums(t *testing.T) {
	// flip returns a copy of b with the 16-bit word at off changed.
	flip := func(b []byte, off int) []byte {
		c := append([]byte(nil), b...)
		c[off] ^= 0x12
		return c
	}
	udp6zero := pt.IPv6(fxS6, fxD6, pt.ProtoUDP, pt.UDPNoChecksum(1, 2, []byte("x")))
	udp4zero := pt.IPv4(fxS4, fxD4, pt.ProtoUDP, pt.UDPNoChecksum(1, 2, []byte("x")))
	ulite := pt.IPv4(fxS4, fxD4, pt.ProtoUDPLite, pt.UDPLite(fxS4, fxD4, 1, 2, 0, []byte("covered")))
	tests := []struct {
		name string
		link packet.LinkType
		in   []byte
		want packet.Reason
	}{
		{"ipv4-header", packet.LinkEthernet, flip(fxTCP4SYN, 14+10), packet.ReasonBadIPv4Checksum},
		{"tcp4", packet.LinkEthernet, flip(fxTCP4SYN, 34+16), packet.ReasonBadTCPChecksum},
		{"tcp6-behind-chain", packet.LinkEthernet, flip(fxTCP6Chain, 102+16), packet.ReasonBadTCPChecksum},
		{"tcp4-payload", packet.LinkEthernet, flip(fxTCP4SYN, len(fxTCP4SYN)-1), packet.ReasonBadTCPChecksum},
		{"udp6", packet.LinkEthernet, flip(fxUDP6, 54+6), packet.ReasonBadUDPChecksum},
		{"udp4-zero-is-no-checksum", packet.LinkRaw, udp4zero, packet.ReasonNone},                        // RFC 768
		{"RFC8200-8.1/udp6-zero", packet.LinkRaw, udp6zero, packet.ReasonUDPZeroChecksum6},               // RFC 8200 §8.1
		{"udplite", packet.LinkRaw, flip(ulite, 20+6), packet.ReasonBadUDPLiteChecksum},                  // RFC 3828 §3.1
		{"udplite-uncovered-byte", packet.LinkRaw, flip(fxUDPLite, len(fxUDPLite)-1), packet.ReasonNone}, // coverage 8
		{"icmp4", packet.LinkEthernet, flip(fxICMP4Echo, 34+2), packet.ReasonBadICMPChecksum},
		{"icmp6", packet.LinkEthernet, flip(fxPTB6, 54+2), packet.ReasonBadICMPv6Checksum},
		{"icmp6-pseudo-header", packet.LinkEthernet, flip(fxPTB6, 14+8), packet.ReasonBadICMPv6Checksum}, // source address
		// Fragments are not checked: the checksum covers the whole datagram.
		{"frag6-first-not-checked", packet.LinkEthernet, flip(fxFrag6First, len(fxFrag6First)-1), packet.ReasonNone},
		// Linux nf_ip6_checksum uses the header destination, not the RH0
		// final destination the fixture's checksum was computed with.
		{"EH-08/rh0-final-destination", packet.LinkRaw, fxRH0, packet.ReasonBadUDPChecksum},
	}
	var p packet.Parsed
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.Decode(tt.in, tt.link)
			if p.Reason != packet.ReasonNone {
				t.Fatalf("Decode: %v", p.Reason)
			}
			if got := p.VerifyChecksums(); got != tt.want {
				t.Errorf("VerifyChecksums = %v, want %v", got, tt.want)
			}
			if p.Reason != tt.want {
				t.Errorf("Reason after VerifyChecksums = %v, want %v", p.Reason, tt.want)
			}
		})
	}
}

// TestFixturesMatchBuilders rebuilds fixtures with packettest: the hex and
// the builders were written separately, so agreement checks both.
func TestFixturesMatchBuilders(t *testing.T) {
	eth := func(et uint16) []byte { return pt.Ether(pt.MAC2, pt.MAC1, et) }
	syn := pt.TCPHeader{SrcPort: 40000, DstPort: 443, Seq: 0x11223344, Flags: packet.TCPSyn, Window: 64240,
		Options: pt.Cat(pt.MSS(1460), pt.SACKPermitted(), pt.Timestamps(100, 0), pt.NOP(), pt.WScale(7))}
	chainSYN := pt.TCPHeader{SrcPort: 40001, DstPort: 80, Seq: 1, Flags: packet.TCPSyn, Window: 65535,
		Options: pt.Cat(pt.MSS(1440), pt.NOP(), pt.NOP(), pt.SACKPermitted())}
	rtp := make([]byte, 24)
	for i := range rtp {
		rtp[i] = byte(i)
	}
	frags := pt.IPv6Fragments(fxS6, fxD6, pt.ProtoFragment, nil, pt.ProtoUDP, pt.UDP(fxS6, fxD6, 4000, 4001, rtp), 0xdeadbeef, 24)
	quote := pt.Head(pt.IPv4(fxD4, fxS4, pt.ProtoUDP, pt.UDP(fxD4, fxS4, 33434, 514, []byte("x")), pt.ID(0x3131), pt.TTL(63)), 28)
	sctp := pt.SCTP(40100, 38412, 0, pt.SCTPInit(0x5ca1ab1e, 106496, 10, 65535, 1))
	tests := []struct {
		name    string
		fixture []byte
		built   []byte
	}{
		{"tcp4-syn", fxTCP4SYN, pt.Cat(eth(pt.EtherTypeIPv4),
			pt.IPv4(fxS4, fxD4, pt.ProtoTCP, pt.TCP(fxS4, fxD4, syn, nil), pt.ID(0x1c46), pt.DF()))},
		{"udp6", fxUDP6, pt.Cat(eth(pt.EtherTypeIPv6),
			pt.IPv6(fxS6, fxD6, pt.ProtoUDP, pt.UDP(fxS6, fxD6, 5353, 53, []byte("hello")), pt.FlowLabel(0x12345)))},
		{"tcp6-chain", fxTCP6Chain, pt.Cat(eth(pt.EtherTypeIPv6), pt.IPv6(fxS6, fxD6, pt.ProtoHopByHop, pt.Cat(
			pt.HopByHop(pt.ProtoDestOpts, pt.PadN(6)), pt.DestOpts(pt.ProtoRouting, pt.PadN(6)),
			pt.Routing(pt.ProtoDestOpts, 2, 0, fxHome), pt.DestOpts(pt.ProtoTCP, pt.PadN(6)),
			pt.TCP(fxS6, fxD6, chainSYN, nil))))},
		{"frag6-first", fxFrag6First, pt.Cat(eth(pt.EtherTypeIPv6), frags[0])},
		{"frag6-later", fxFrag6Later, pt.Cat(eth(pt.EtherTypeIPv6), frags[1])},
		{"hao", fxHAO, pt.IPv6(fxS6, fxD6, pt.ProtoDestOpts, pt.Cat(
			pt.DestOpts(pt.ProtoUDP, pt.PadN(4), pt.HomeAddress(fxHome)), pt.UDP(fxS6, fxD6, 434, 434, nil)))},
		{"ah6", fxAH6, pt.IPv6(fxS6, fxD6, pt.ProtoAH, pt.Cat(
			pt.AH(pt.ProtoICMPv6, 0xbeef, 3, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}),
			pt.ICMPv6Echo(fxS6, fxD6, true, 0x0701, 2, []byte("ping"))))},
		{"icmp4-unreach", fxICMP4Unreach, pt.Cat(pt.Ether(pt.MAC1, pt.MAC2, pt.EtherTypeIPv4),
			pt.IPv4(fxS4, fxD4, pt.ProtoICMP, pt.ICMPv4Error(pt.ICMPTypeDestUnreach, 3, 0, quote), pt.ID(0x4242)))},
		{"qinq", fxQinQ, pt.Cat(pt.Ether(pt.MAC2, pt.MAC1, pt.EtherTypeIPv6, 200, 100),
			pt.IPv6(fxS6, fxD6, pt.ProtoICMPv6, pt.ICMPv6Echo(fxS6, fxD6, true, 1, 1, []byte("qinq"))))},
		{"sll2", fxSLL2, pt.Cat(pt.SLL2(pt.EtherTypeIPv6, 3, pt.SLLHost, pt.MAC2),
			pt.IPv6(fxS6, fxD6, pt.ProtoUDP, pt.UDP(fxS6, fxD6, 547, 546, nil)))},
		{"nflog", fxNFLOG, pt.NFLOG(pt.AFInet, binary.LittleEndian, pt.IPv4(fxS4, fxD4, pt.ProtoTCP,
			pt.TCP(fxS4, fxD4, pt.TCPHeader{SrcPort: 40005, DstPort: 80, Seq: 1000, Flags: packet.TCPSyn, Window: 29200}, nil), pt.ID(0x77)))},
		{"sctp", fxSCTP, pt.IPv4(fxS4, fxD4, pt.ProtoSCTP, sctp)},
		{"dccp", fxDCCP, pt.IPv6(fxS6, fxD6, pt.ProtoDCCP, pt.DCCPRequest(fxS6, fxD6, 40200, 5001, 0x12345678, 0x68617265))},
		{"pptp", fxPPTP, pt.IPv4(fxS4, fxD4, pt.ProtoGRE, pt.PPTPGRE(42, 5, []byte{0xff, 0x03, 0x00, 0x21}))},
		{"udplite", fxUDPLite, pt.IPv6(fxS6, fxD6, pt.ProtoUDPLite, pt.UDPLite(fxS6, fxD6, 7000, 7001, 8, []byte("abcd")))},
	}
	for _, tt := range tests {
		if string(tt.fixture) != string(tt.built) {
			t.Errorf("%s: fixture and builder differ\nfixture % x\nbuilt   % x", tt.name, tt.fixture, tt.built)
		}
	}
}
