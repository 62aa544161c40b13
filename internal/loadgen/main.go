// Command loadgen writes a large synthetic pcap for replay throughput
// measurements (BENCHMARKS.md): many concurrent TCP connections (handshake
// with options, data both ways, FIN close), DNS-like UDP exchanges and ICMP
// echoes, over IPv4 and IPv6, with correct checksums and capture times 10 µs
// apart.
//
//	go run ./internal/loadgen -n 10000000 -o /tmp/load.pcap
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

func main() {
	n := flag.Int("n", 1_000_000, "packets to write")
	out := flag.String("o", "load.pcap", "output pcap file")
	flows := flag.Int("flows", 10000, "connections open at once")
	flag.Parse()
	if err := run(*n, *flows, *out); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// conv is one conversation: a script of packets, replayed step by step.
type conv struct {
	id   int
	step int
}

func run(n, flows int, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	// pcap header: µs, LINKTYPE_RAW.
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], uint32(packet.LinkRaw))
	w.Write(hdr)

	convs := make([]conv, flows)
	for i := range convs {
		convs[i] = conv{id: i}
	}
	next := flows
	ts := int64(1_700_000_000_000_000) // µs
	rec := make([]byte, 16)
	for written, i := 0, 0; written < n; i = (i + 1) % flows {
		c := &convs[i]
		p, done := c.packet()
		if done {
			*c = conv{id: next}
			next++
			continue
		}
		binary.LittleEndian.PutUint32(rec[0:], uint32(ts/1e6))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ts%1e6))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(p)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(p)))
		w.Write(rec)
		w.Write(p)
		ts += 10
		written++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// packet returns the conversation's next packet, or done.
func (c *conv) packet() ([]byte, bool) {
	defer func() { c.step++ }()
	v6 := c.id%4 == 3
	cli, srv := addrs(c.id, v6)
	switch c.id % 10 {
	case 0, 1: // DNS-like UDP: query, answer
		sport := uint16(1024 + c.id%60000)
		switch c.step {
		case 0:
			return ip(cli, srv, 17, packettest.UDP(cli, srv, sport, 53, make([]byte, 40))), false
		case 1:
			return ip(srv, cli, 17, packettest.UDP(srv, cli, 53, sport, make([]byte, 120))), false
		}
		return nil, true
	case 2: // echo request, reply
		id := uint16(c.id)
		if v6 {
			switch c.step {
			case 0:
				return packettest.IPv6(cli, srv, 58, packettest.ICMPv6Echo(cli, srv, true, id, 1, make([]byte, 56))), false
			case 1:
				return packettest.IPv6(srv, cli, 58, packettest.ICMPv6Echo(srv, cli, false, id, 1, make([]byte, 56))), false
			}
			return nil, true
		}
		switch c.step {
		case 0:
			return packettest.IPv4(cli, srv, 1, packettest.ICMPv4Echo(true, id, 1, make([]byte, 56))), false
		case 1:
			return packettest.IPv4(srv, cli, 1, packettest.ICMPv4Echo(false, id, 1, make([]byte, 56))), false
		}
		return nil, true
	}
	// TCP: handshake, 20 data/ACK pairs, FIN both ways.
	const rounds = 20
	sport := uint16(1024 + c.id%60000)
	cseq, sseq := uint32(1000), uint32(5000)
	opts := packettest.Cat(packettest.MSS(1460), packettest.SACKPermitted(), packettest.WScale(7))
	seg := func(src, dst netip.Addr, sp, dp uint16, seq, ack uint32, fl packet.TCPFlags, o []byte, n int) []byte {
		return ip(src, dst, 6, packettest.TCP(src, dst, packettest.TCPHeader{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: fl, Window: 512, Options: o}, make([]byte, n)))
	}
	const data = 500
	switch s := c.step; {
	case s == 0:
		return seg(cli, srv, sport, 443, cseq, 0, packet.TCPSyn, opts, 0), false
	case s == 1:
		return seg(srv, cli, 443, sport, sseq, cseq+1, packet.TCPSyn|packet.TCPAck, opts, 0), false
	case s < 2+2*rounds:
		k := uint32((s - 2) / 2)
		if s%2 == 0 {
			return seg(cli, srv, sport, 443, cseq+1+k*data, sseq+1, packet.TCPAck|packet.TCPPsh, nil, data), false
		}
		return seg(srv, cli, 443, sport, sseq+1, cseq+1+(k+1)*data, packet.TCPAck, nil, 0), false
	case s == 2+2*rounds:
		return seg(cli, srv, sport, 443, cseq+1+rounds*data, sseq+1, packet.TCPFin|packet.TCPAck, nil, 0), false
	case s == 3+2*rounds:
		return seg(srv, cli, 443, sport, sseq+1, cseq+2+rounds*data, packet.TCPFin|packet.TCPAck, nil, 0), false
	case s == 4+2*rounds:
		return seg(cli, srv, sport, 443, cseq+2+rounds*data, sseq+2, packet.TCPAck, nil, 0), false
	}
	return nil, true
}

func addrs(id int, v6 bool) (cli, srv netip.Addr) {
	if v6 {
		var a [16]byte
		copy(a[:], netip.MustParseAddr("2001:db8::").AsSlice())
		binary.BigEndian.PutUint32(a[12:], uint32(id))
		return netip.AddrFrom16(a), netip.MustParseAddr("2001:db8:ffff::1")
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 0x0a000000|uint32(id)&0xffffff)
	return netip.AddrFrom4(a), netip.MustParseAddr("198.51.100.1")
}

func ip(src, dst netip.Addr, proto uint8, l4 []byte) []byte {
	if src.Is4() {
		return packettest.IPv4(src, dst, proto, l4)
	}
	return packettest.IPv6(src, dst, proto, l4)
}
