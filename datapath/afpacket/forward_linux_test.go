package afpacket

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/hare-fw/hare/datapath"
)

// frag6 returns the Fragment header fields of an IPv6 frame whose first
// extension header is a Fragment header (what a Linux sender writes).
func frag6(p *datapath.Packet) (id uint32, off int, more, ok bool) {
	ip := p.Data[p.L3:]
	if p.EtherType != etherIPv6 || len(ip) < 48 || ip[6] != 44 {
		return 0, 0, false, false
	}
	fo := binary.BigEndian.Uint16(ip[42:])
	return binary.BigEndian.Uint32(ip[44:]), int(fo &^ 7), fo&1 != 0, true
}

// TestForwardHeldFragments: a worker that keeps the IPv6 fragments of a
// datagram (Verdict Stolen, a copy of each frame) and, on its last
// fragment, sends the copies with Forward gets the datagram to the
// server whole; one that drops the copies gets nothing there. The
// client's kernel fragments the 4000-byte datagrams for the 1500-byte MTU.
func TestForwardHeldFragments(t *testing.T) { forRings(t, testForwardHeldFragments) }

func testForwardHeldFragments(t *testing.T, ring Ring) {
	tp := needTopology(t)
	type held struct {
		pk   datapath.Packet
		data []byte
	}
	var kept []held // one worker: no lock
	var stolen, forwarded, dropped int
	r := startBridge(t, ring, 1, func(port datapath.Port, p *datapath.Packet) {
		p.Verdict = datapath.Accept
		if _, _, more, ok := frag6(p); ok {
			if more {
				kept = append(kept, held{*p, append([]byte(nil), p.Data...)})
				p.Verdict = datapath.Stolen
				stolen++
				return
			}
			first := kept[0].data[kept[0].pk.L3+48:] // the UDP header after the Fragment header
			drop := binary.BigEndian.Uint16(first[2:]) == 5002
			for _, h := range kept {
				if drop {
					dropped++
					continue
				}
				pk := h.pk
				pk.Data = h.data
				if err := port.(datapath.Forwarder).Forward(&pk); err != nil {
					t.Error(err)
				}
				forwarded++
			}
			kept = kept[:0]
			if drop {
				p.Verdict = datapath.Drop
			}
		}
	})
	big := bytes.Repeat([]byte("0123456789abcdef"), 250)
	// Accepted: the held fragments and the last one make the datagram.
	// Dropped: the server sees none of it; the small datagram sent after
	// it on the same socket (not fragmented: accepted) is the first thing
	// it reads.
	for _, c := range []struct {
		port string
		send [][]byte
	}{{"5001", [][]byte{big}}, {"5002", [][]byte{big, []byte("small")}}} {
		_, srv := listen(t, tp.server, "udp6", "["+serverIP6+"]:"+c.port)
		defer srv.Close()
		cl := dial(t, tp.client, "udp6", "["+serverIP6+"]:"+c.port)
		defer cl.Close()
		for _, m := range c.send {
			if _, err := cl.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		want := c.send[len(c.send)-1]
		_ = srv.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 8192)
		n, _, err := srv.ReadFrom(buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Errorf("port %s: server got %d bytes first (%v), want the %d-byte datagram", c.port, n, err, len(want))
		}
	}
	r.stop()
	s := r.br.Ports()[0].Stats()
	t.Logf("%+v", s)
	if stolen != 4 || forwarded != 2 || dropped != 2 || s.Stolen != 4 || s.Forwarded != 2 || s.Errors != 0 {
		t.Errorf("held %d, forwarded %d, dropped %d; port stats %+v", stolen, forwarded, dropped, s)
	}
}
