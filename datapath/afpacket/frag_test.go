package afpacket

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
)

// rfc1071 is the Internet checksum written the plain way (RFC 1071 §4.1),
// independent of sum and fold.
func rfc1071(b []byte) uint16 {
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

// datagram builds an Ethernet frame with an IPv4/UDP datagram of n payload
// bytes and the given IP options, with gopacket.
func datagram(t *testing.T, n int, flags layers.IPv4Flag, opts []layers.IPv4Option) []byte {
	t.Helper()
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 0x1234, Flags: flags, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}, Options: opts}
	udp := &layers.UDP{SrcPort: 1000, DstPort: 2000}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFragment4(t *testing.T) {
	// Option 7 (record route) is not copied into later fragments, option
	// 0x94 (router alert, copied flag set) is (RFC 791 §3.1, RFC 2113).
	opts := []layers.IPv4Option{
		{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}},
		{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}},
		{OptionType: 0},
	}
	for _, c := range []struct {
		name string
		n    int
		mtu  int
		opts []layers.IPv4Option
	}{
		{"4000/1500", 4000, 1500, nil},
		{"65000/1500", 65000, 1500, nil},
		{"3000/576+options", 3000, 576, opts},
		{"1473/1500", 1473, 1500, nil},
		{"100/68", 100, 68, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			frame := datagram(t, c.n, 0, c.opts)
			orig := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			buf := make([]byte, 256<<10)
			ends := make([]int, 2048)
			n := fragment4(buf, ends, frame, 14, c.mtu)
			if n < 2 {
				t.Fatalf("%d fragments", n)
			}
			d := ip4defrag.NewIPv4Defragmenter()
			var whole *layers.IPv4
			w := 0
			for i := range n {
				f := buf[w:ends[i]]
				w = ends[i]
				if !bytes.Equal(f[:vnetLen], make([]byte, vnetLen)) || !bytes.Equal(f[vnetLen:vnetLen+14], frame[:14]) {
					t.Fatalf("fragment %d: vnet or Ethernet header wrong: % x", i, f[:vnetLen+14])
				}
				ip := f[vnetLen+14:]
				if len(ip) > c.mtu {
					t.Errorf("fragment %d: %d bytes, MTU %d", i, len(ip), c.mtu)
				}
				ihl := int(ip[0]&15) * 4
				if rfc1071(ip[:ihl]) != 0 {
					t.Errorf("fragment %d: bad header checksum", i)
				}
				last := i == n-1
				if mf := binary.BigEndian.Uint16(ip[6:])&0x2000 != 0; mf == last {
					t.Errorf("fragment %d of %d: MF %v", i, n, mf)
				}
				if !last && (len(ip)-ihl)%8 != 0 {
					t.Errorf("fragment %d: payload %d not a multiple of 8", i, len(ip)-ihl)
				}
				if c.opts != nil {
					// Options: 7 bytes of record route, 4 of router alert.
					rr := ip[20:27]
					if i == 0 && rr[0] != 7 || i > 0 && !bytes.Equal(rr, bytes.Repeat([]byte{1}, 7)) {
						t.Errorf("fragment %d: record route option % x", i, rr)
					}
					if ip[27] != 0x94 {
						t.Errorf("fragment %d: router alert option lost: % x", i, ip[27:31])
					}
				}
				p := gopacket.NewPacket(ip, layers.LayerTypeIPv4, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				out, err := d.DefragIPv4(p)
				if err != nil {
					t.Fatal(err)
				}
				if out != nil {
					whole = out
				}
			}
			if whole == nil {
				t.Fatal("gopacket's ip4defrag did not reassemble the fragments")
			}
			if !bytes.Equal(whole.Payload, orig.Payload) || !whole.SrcIP.Equal(orig.SrcIP) || whole.Id != orig.Id {
				t.Errorf("reassembled datagram differs from the original")
			}
		})
	}
}

func TestFragment4Refuses(t *testing.T) {
	buf := make([]byte, 256<<10)
	df := datagram(t, 4000, layers.IPv4DontFragment, nil)
	if n := fragment4(buf, make([]int, 64), df, 14, 1500); n != 0 {
		t.Errorf("DF datagram: %d fragments, want none (EMSGSIZE)", n)
	}
	big := datagram(t, 65000, 0, nil)
	if n := fragment4(buf, make([]int, 8), big, 14, 1500); n != 0 {
		t.Errorf("more fragments than room: %d", n)
	}
	if n := fragment4(buf, make([]int, 64), big[:100], 14, 1500); n != 0 {
		t.Errorf("truncated datagram: %d fragments", n)
	}
	if n := fragment4(buf, make([]int, 64), big, 14, 20); n != 0 {
		t.Errorf("MTU below header: %d fragments", n)
	}
}

// TestCompleteChecksum gives completeChecksum what a CHECKSUM_PARTIAL
// sender leaves (the pseudo-header sum in the checksum field) and compares
// the result with gopacket's checksums.
func TestCompleteChecksum(t *testing.T) {
	payload := []byte("some payload of odd length.")
	ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{192, 168, 7, 9}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1, ACK: true, PSH: true, Window: 500}
	_ = tcp.SetNetworkLayerForChecksum(ip4)
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::ffff:2")}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	_ = udp.SetNetworkLayerForChecksum(ip6)
	type layered struct {
		name string
		ls   []gopacket.SerializableLayer
	}
	cases := []layered{
		{"tcp4", []gopacket.SerializableLayer{ip4, tcp, gopacket.Payload(payload)}},
		{"udp6", []gopacket.SerializableLayer{ip6, udp, gopacket.Payload(payload)}},
	}
	for _, c := range cases {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, c.ls...); err != nil {
			t.Fatal(err)
		}
		good := buf.Bytes()
		var pseudo []byte
		var start, off int
		switch good[0] >> 4 {
		case 4:
			start, off = 20, 16
			pseudo = append(append([]byte{}, good[12:20]...), 0, good[9], 0, 0)
			binary.BigEndian.PutUint16(pseudo[10:], uint16(len(good)-20))
		case 6:
			start, off = 40, 6
			pseudo = append(append([]byte{}, good[8:40]...), 0, 0, 0, 0, 0, 0, 0, good[6])
			binary.BigEndian.PutUint32(pseudo[32:], uint32(len(good)-40))
		}
		partial := append([]byte{}, good...)
		binary.BigEndian.PutUint16(partial[start+off:], ^rfc1071(pseudo))
		if !completeChecksum(partial, start, off) {
			t.Fatalf("%s: refused", c.name)
		}
		if !bytes.Equal(partial, good) {
			t.Errorf("%s: checksum %#04x, gopacket's %#04x", c.name,
				binary.BigEndian.Uint16(partial[start+off:]), binary.BigEndian.Uint16(good[start+off:]))
		}
		if completeChecksum(partial, start, len(partial)) {
			t.Errorf("%s: offset past the end accepted", c.name)
		}

		// And back: partialChecksum, given the frame with its
		// virtio_net_hdr, restores the pseudo-header sum.
		et := []byte{0x08, 0x00}
		if good[0]>>4 == 6 {
			et = []byte{0x86, 0xdd}
		}
		vf := make([]byte, vnetLen, vnetLen+14+len(good))
		vf = append(append(append(vf, make([]byte, 12)...), et...), good...)
		binary.NativeEndian.PutUint16(vf[vnetCsumStart:], uint16(14+start))
		binary.NativeEndian.PutUint16(vf[vnetCsumOffset:], uint16(off))
		if !partialChecksum(vf) {
			t.Fatalf("%s: partialChecksum refused", c.name)
		}
		if got, want := binary.BigEndian.Uint16(vf[vnetLen+14+start+off:]), ^rfc1071(pseudo); got != want {
			t.Errorf("%s: partial checksum %#04x, want %#04x", c.name, got, want)
		}
	}
}
