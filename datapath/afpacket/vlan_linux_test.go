package afpacket

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"golang.org/x/sys/unix"
)

// rawSock opens a packet socket bound to dev in ns, receiving every
// protocol with PACKET_AUXDATA (which reports the VLAN tag the receive
// path took out of the frame).
func rawSock(t *testing.T, ns, dev string) int {
	t.Helper()
	var fd int
	var err error
	inNetns(t, ns, func() {
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL))); err != nil {
			return
		}
		var ifr *unix.Ifreq
		if ifr, err = unix.NewIfreq(dev); err != nil {
			return
		}
		if err = unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
			return
		}
		if err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: int(ifr.Uint32())}); err != nil {
			return
		}
		if err = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return
		}
		err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// taggedFrame builds an Ethernet frame with the given VLAN tags (TPID,
// TCI pairs) around an IPv4/UDP datagram whose payload is marker.
func taggedFrame(tags [][2]uint16, marker string) []byte {
	f := []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01}
	for _, tag := range tags {
		f = binary.BigEndian.AppendUint16(f, tag[0])
		f = binary.BigEndian.AppendUint16(f, tag[1])
	}
	f = binary.BigEndian.AppendUint16(f, etherIPv4)
	ip := make([]byte, 28+len(marker))
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:], []byte{10, 72, 0, 1, 10, 72, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], rfc1071(ip[:20]))
	binary.BigEndian.PutUint16(ip[20:], 4000)
	binary.BigEndian.PutUint16(ip[22:], 4001)
	binary.BigEndian.PutUint16(ip[24:], uint16(8+len(marker)))
	copy(ip[28:], marker)
	return append(f, ip...)
}

// received is a frame as a packet socket sees it: without its outermost
// tag, which auxdata reports.
type received struct {
	frame     []byte
	tagged    bool
	tci, tpid uint16
}

// recvMarked waits for a frame ending in marker on fd, skipping others.
func recvMarked(t *testing.T, fd int, marker string) received {
	t.Helper()
	buf, oob := make([]byte, 2048), make([]byte, 256)
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if err != nil {
			t.Fatalf("waiting for %q: %v", marker, err)
		}
		if !bytes.HasSuffix(buf[:n], []byte(marker)) {
			continue
		}
		r := received{frame: append([]byte{}, buf[:n]...)}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_PACKET && m.Header.Type == unix.PACKET_AUXDATA && len(m.Data) >= 20 {
				st := ne.Uint32(m.Data)
				r.tagged = st&unix.TP_STATUS_VLAN_VALID != 0
				r.tci, r.tpid = ne.Uint16(m.Data[16:]), ne.Uint16(m.Data[18:])
			}
		}
		return r
	}
}

// TestVLAN sends tagged frames from the client's veth with a packet socket
// and checks what the workers see and what leaves toward the server: one
// 802.1Q or 802.1ad tag is given back to the frame (L3 = 18) and kept on
// transmission; a frame with two tags is not IP and is dropped.
func TestVLAN(t *testing.T) { forRings(t, testVLAN) }

func testVLAN(t *testing.T, ring Ring) {
	tp := needTopology(t)
	var seen atomic.Int64
	startBridge(t, ring, 1, func(port datapath.Port, p *datapath.Packet) {
		if p.L3 == 18 && p.EtherType == etherIPv4 && binary.BigEndian.Uint16(p.Data[14:])&0xfff == 100 {
			seen.Add(1)
		}
		dropDiscard(port, p)
	})
	tx := rawSock(t, tp.client, "c0")
	rx := rawSock(t, tp.server, "s0")
	for _, c := range []struct {
		marker string
		tpid   uint16
	}{{"dot1q", ether8021Q}, {"dot1ad", ether8021A}} {
		f := taggedFrame([][2]uint16{{c.tpid, 0x2000 | 100}}, c.marker) // PCP 1, VID 100
		if _, err := unix.Write(tx, f); err != nil {
			t.Fatal(err)
		}
		r := recvMarked(t, rx, c.marker)
		if !r.tagged || r.tci != 0x2000|100 || r.tpid != c.tpid {
			t.Errorf("%s: arrived with tag %v TCI %#x TPID %#x, want TCI %#x TPID %#x", c.marker, r.tagged, r.tci, r.tpid, 0x2000|100, c.tpid)
		}
		if want := append(f[:12:12], f[16:]...); !bytes.Equal(r.frame, want) {
			t.Errorf("%s: frame changed on the way:\n got % x\nwant % x", c.marker, r.frame, want)
		}
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("workers saw %d tagged IPv4 frames, want 2", n)
	}

	// Two tags: not IP, dropped (PassNonIP is off). The single-tagged
	// frame sent after it arrives alone: one worker keeps the order.
	if _, err := unix.Write(tx, taggedFrame([][2]uint16{{ether8021A, 100}, {ether8021Q, 200}}, "qinq")); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(tx, taggedFrame([][2]uint16{{ether8021Q, 100}}, "after")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for {
		n, err := unix.Read(rx, buf)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasSuffix(buf[:n], []byte("qinq")) {
			t.Fatal("a frame with two VLAN tags crossed the bridge")
		}
		if bytes.HasSuffix(buf[:n], []byte("after")) {
			break
		}
	}
}

// TestVLANGSO sends a VLAN-tagged TCP GSO frame (4000 bytes of payload,
// segments of 1000) from the client's veth with PACKET_VNET_HDR, which the
// veth hands over unsegmented: the bridge gets one 64 KiB-style frame with
// its GSO description and must give it back to the kernel with the tag put
// back and hdr_len grown by the tag, or packet_snd refuses it. The server
// side must see all 4000 bytes, in one frame or several, tagged.
func TestVLANGSO(t *testing.T) { forRings(t, testVLANGSO) }

func testVLANGSO(t *testing.T, ring Ring) {
	tp := needTopology(t)
	var gso atomic.Int64
	r := startBridge(t, ring, 1, func(port datapath.Port, p *datapath.Packet) {
		if p.L3 == 18 && len(p.Data) > 4000 {
			gso.Add(1)
		}
		dropDiscard(port, p)
	})
	tx := rawSock(t, tp.client, "c0")
	if err := unix.SetsockoptInt(tx, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		t.Fatal(err)
	}
	rx := rawSock(t, tp.server, "s0")

	payload := bytes.Repeat([]byte("vlan-gso-payload"), 250) // 4000 bytes
	f := []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x81, 0x00, 0, 100, 0x08, 0x00}
	ip := make([]byte, 40)
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(payload)))
	copy(ip[12:], []byte{10, 72, 0, 1, 10, 72, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], rfc1071(ip[:20]))
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], 4100)
	binary.BigEndian.PutUint16(tcp[2:], 4101)
	binary.BigEndian.PutUint32(tcp[4:], 1)
	tcp[12], tcp[13] = 5<<4, 0x18 // ACK, PSH
	binary.BigEndian.PutUint16(tcp[14:], 1000)
	// CHECKSUM_PARTIAL: the field holds the pseudo-header sum.
	pseudo := append(append([]byte{}, ip[12:20]...), 0, 6, 0, 0)
	binary.BigEndian.PutUint16(pseudo[10:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(tcp[16:], ^rfc1071(pseudo))
	frame := append(append(f, ip...), payload...)
	vnet := make([]byte, vnetLen)
	vnet[vnetFlags] = vnetNeedsCsum
	vnet[vnetGSOType] = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	ne.PutUint16(vnet[vnetHdrLen:], 18+40)
	ne.PutUint16(vnet[4:], 1000) // gso_size
	ne.PutUint16(vnet[vnetCsumStart:], 18+20)
	ne.PutUint16(vnet[vnetCsumOffset:], 16)
	if _, err := unix.Write(tx, append(vnet, frame...)); err != nil {
		t.Fatal(err)
	}

	var got []byte
	buf, oob := make([]byte, 65536), make([]byte, 256)
	for len(got) < len(payload) {
		n, oobn, _, _, err := unix.Recvmsg(rx, buf, oob, 0)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v (bridge: %+v, %d tagged GSO frames seen)", len(got), len(payload), err, r.stats(), gso.Load())
		}
		// Untagged by the receive path: IPv4 at 14, TCP ports 4100->4101.
		if n < 54 || binary.BigEndian.Uint16(buf[12:]) != etherIPv4 || buf[23] != 6 ||
			binary.BigEndian.Uint16(buf[34:]) != 4100 {
			continue
		}
		tagged := false
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			if m.Header.Type == unix.PACKET_AUXDATA && len(m.Data) >= 20 {
				tagged = ne.Uint32(m.Data)&unix.TP_STATUS_VLAN_VALID != 0 && ne.Uint16(m.Data[16:])&0xfff == 100
			}
		}
		if !tagged {
			t.Errorf("a segment arrived without VLAN 100")
		}
		got = append(got, buf[54:n]...)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("payload differs after the bridge")
	}
	if gso.Load() != 1 {
		t.Errorf("workers saw %d tagged GSO frames, want 1", gso.Load())
	}
	if s := r.stats(); s.Errors != 0 {
		t.Errorf("errors: %+v", s)
	}
}

// TestNonIP checks the pass policy for frames that are not IP: by default
// ARP passes and LLDP is dropped; SetPass changes it on a running bridge.
// Frames go in from the client's veth with a packet socket; an IPv4 frame
// sent after each shows, when it arrives, that the one before it has been
// dealt with (one worker keeps the order).
func TestNonIP(t *testing.T) { forRings(t, testNonIP) }

func testNonIP(t *testing.T, ring Ring) {
	tp := needTopology(t)
	r := startBridge(t, ring, 1, dropDiscard)
	tx := rawSock(t, tp.client, "c0")
	rx := rawSock(t, tp.server, "s0")
	frame := func(dst []byte, et uint16, marker string) []byte {
		f := append(append([]byte{}, dst...), 0x02, 0, 0, 0, 0, 0x01)
		f = binary.BigEndian.AppendUint16(f, et)
		return append(append(f, make([]byte, 28)...), marker...)
	}
	lldpDst := []byte{0x01, 0x80, 0xc2, 0, 0, 0x0e}
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// sendThenFence sends f, then an IPv4 frame, and reports whether f
	// arrived before the IPv4 frame did.
	sendThenFence := func(f []byte, marker string) bool {
		t.Helper()
		for _, b := range [][]byte{f, taggedFrame(nil, "fence-"+marker)} {
			if _, err := unix.Write(tx, b); err != nil {
				t.Fatal(err)
			}
		}
		arrived := false
		buf := make([]byte, 2048)
		for {
			n, err := unix.Read(rx, buf)
			if err != nil {
				t.Fatalf("waiting for the fence after %s: %v", marker, err)
			}
			switch {
			case bytes.HasSuffix(buf[:n], []byte("fence-"+marker)):
				return arrived
			case bytes.HasSuffix(buf[:n], []byte(marker)):
				arrived = true
			}
		}
	}
	if !sendThenFence(frame(bcast, etherARP, "arp1"), "arp1") {
		t.Error("ARP did not pass by default")
	}
	if sendThenFence(frame(lldpDst, 0x88cc, "lldp1"), "lldp1") {
		t.Error("LLDP passed by default")
	}
	r.br.SetPass(false, true)
	if !sendThenFence(frame(lldpDst, 0x88cc, "lldp2"), "lldp2") {
		t.Error("LLDP dropped with PassNonIP")
	}
	r.br.SetPass(false, false)
	if sendThenFence(frame(bcast, etherARP, "arp3"), "arp3") {
		t.Error("ARP passed with PassARP off")
	}
	if s := r.stats(); s.Passed < 2 {
		t.Errorf("Passed = %d, want at least the ARP and LLDP frames passed", s.Passed)
	}
}
