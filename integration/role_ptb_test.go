package integration

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// ptbListen is the client-side observer: it prints one result for every
// ICMPv6 Packet Too Big and ICMP fragmentation needed that reaches the
// host, with the flow its quoted packet belongs to. It prints "ready" once
// both raw sockets are open and runs until killed.
func ptbListen() error {
	c4, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return err
	}
	c6, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return err
	}
	fmt.Println("ready")
	go readPTB(c4, 4)
	readPTB(c6, 6)
	return nil
}

func readPTB(c net.PacketConn, v int) {
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		m := buf[:n]
		var inner []byte
		var mtu int
		switch {
		case v == 4 && n >= 8 && m[0] == 3 && m[1] == 4: // RFC 792 destination unreachable, fragmentation needed (RFC 1191 §4 MTU)
			mtu, inner = int(binary.BigEndian.Uint16(m[6:8])), m[8:]
		case v == 6 && n >= 8 && m[0] == 2: // RFC 4443 §3.2 Packet Too Big
			mtu, inner = int(binary.BigEndian.Uint32(m[4:8])), m[8:]
		default:
			continue
		}
		emit(result{OK: true, V: v, Src: from.String(), MTU: mtu, Inner: quoted(inner, v)})
	}
}

// quoted describes the TCP or UDP flow of a packet quoted in an ICMP error
// as "src sport -> dst dport".
func quoted(p []byte, v int) string {
	var src, dst netip.Addr
	var l4 []byte
	switch {
	case v == 4 && len(p) >= 28:
		ihl := int(p[0]&0xf) * 4
		src, _ = netip.AddrFromSlice(p[12:16])
		dst, _ = netip.AddrFromSlice(p[16:20])
		if len(p) < ihl+4 {
			return "?"
		}
		l4 = p[ihl:]
	case v == 6 && len(p) >= 44:
		src, _ = netip.AddrFromSlice(p[8:24])
		dst, _ = netip.AddrFromSlice(p[24:40])
		l4 = p[40:]
	default:
		return "?"
	}
	return fmt.Sprintf("%s %d -> %s %d", src, binary.BigEndian.Uint16(l4), dst, binary.BigEndian.Uint16(l4[2:]))
}

// ptbSend crafts an ICMPv6 Packet Too Big (IPv4: fragmentation needed)
// quoting a TCP segment src:sport -> dst:dport and sends it to `to` from a
// raw socket: ptbsend TO SRC SPORT DST DPORT MTU.
func ptbSend(args []string) error {
	if len(args) != 6 {
		return fmt.Errorf("ptbsend: want TO SRC SPORT DST DPORT MTU")
	}
	to := netip.MustParseAddr(args[0])
	src, dst := netip.MustParseAddr(args[1]), netip.MustParseAddr(args[3])
	sport, _ := strconv.Atoi(args[2])
	dport, _ := strconv.Atoi(args[4])
	mtu, _ := strconv.Atoi(args[5])

	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], uint16(sport))
	binary.BigEndian.PutUint16(tcp[2:], uint16(dport))
	binary.BigEndian.PutUint32(tcp[4:], 0x01020304)
	tcp[12] = 5 << 4
	tcp[13] = 0x10 // ACK

	var msg []byte
	network := "ip6:ipv6-icmp"
	if to.Is4() {
		network = "ip4:icmp"
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], 1500)
		ip[6] = 0x40 // DF
		ip[8], ip[9] = 64, 6
		copy(ip[12:], src.AsSlice())
		copy(ip[16:], dst.AsSlice())
		binary.BigEndian.PutUint16(ip[10:], checksum(ip))
		// RFC 792: the IP header and the first 64 bits of the datagram.
		msg = append([]byte{3, 4, 0, 0, 0, 0, byte(mtu >> 8), byte(mtu)}, ip...)
		msg = append(msg, tcp[:8]...)
		binary.BigEndian.PutUint16(msg[2:], checksum(msg))
	} else {
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], 1460)
		ip[6], ip[7] = 6, 64
		copy(ip[8:], src.AsSlice())
		copy(ip[24:], dst.AsSlice())
		// RFC 4443 §3.2; the kernel fills in the checksum of an ICMPv6
		// raw socket (RFC 3542 §3.1).
		msg = []byte{2, 0, 0, 0, byte(mtu >> 24), byte(mtu >> 16), byte(mtu >> 8), byte(mtu)}
		msg = append(append(msg, ip...), tcp...)
	}
	c, err := net.ListenPacket(network, "")
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.WriteTo(msg, &net.IPAddr{IP: to.AsSlice()}); err != nil {
		return err
	}
	emit(result{OK: true, Bytes: int64(len(msg))})
	return nil
}

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
