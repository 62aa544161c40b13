package nfqueue

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/packet"
)

// TestGSO sends 1 MB over TCP from c through f to s. veth hands the
// sender's TSO super-packets across namespaces unsegmented, so f forwards
// GSO packets: with Config.GSO hare is given them whole (longer than the
// 1500-byte MTU, the transport checksum not yet computed: VerifyChecksums
// fails on them, and the kernel says so, NFQA_SKB_CSUMNOTREADY in
// Packet.CsumPartial), without it the kernel segments them first and hare sees
// MTU-sized packets with valid checksums. The data arrives intact either
// way.
func TestGSO(t *testing.T) {
	for _, gso := range []bool{false, true} {
		t.Run(fmt.Sprintf("gso=%v", gso), func(t *testing.T) {
			tp := newTopo(t)
			d := tp.openIn(t, tp.f, Config{Queues: "0", GSO: gso, Hooks: []datapath.Hook{datapath.HookForward}, InstallRules: true, Notrack: true})
			var biggest, badSum, segs, partial, badNotPartial int
			w := runWorker(d.Ports()[0], func(_ datapath.Port, pk *datapath.Packet, p *packet.Parsed) {
				if p.Proto != packet.ProtoTCP || p.DstPort != 8100 || p.L4Len <= int(p.TCP.DataOff) {
					return
				}
				segs++
				biggest = max(biggest, len(pk.Data))
				bad := p.VerifyChecksums() != packet.ReasonNone
				if bad {
					badSum++
				}
				if pk.CsumPartial {
					partial++
				} else if bad {
					badNotPartial++
				}
			})
			var l net.Listener
			tp.inNS(t, tp.s, func() {
				var err error
				if l, err = net.Listen("tcp", "10.77.2.1:8100"); err != nil {
					t.Error(err)
				}
			})
			if l == nil {
				t.FailNow()
			}
			defer l.Close()
			got := make(chan []byte, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				b, _ := io.ReadAll(c)
				got <- b
			}()
			data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
			tp.inNS(t, tp.c, func() {
				c, err := net.Dial("tcp", "10.77.2.1:8100")
				if err != nil {
					t.Error(err)
					return
				}
				c.Write(data)
				c.Close()
			})
			if b := <-got; !bytes.Equal(b, data) {
				t.Fatalf("s received %d bytes, want the %d sent", len(b), len(data))
			}
			tp.inNS(t, tp.f, func() { d.Close() })
			<-w.done
			t.Logf("%d data packets, largest %d bytes, %d with an unfinished checksum, %d said partial (NFQA_SKB_CSUMNOTREADY)", segs, biggest, badSum, partial)
			if gso && (biggest <= 1500 || partial == 0) {
				t.Errorf("with GSO: largest %d bytes, %d packets said CsumPartial", biggest, partial)
			}
			if !gso && (biggest > 1500 || badSum != 0 || partial != 0) {
				t.Errorf("without GSO: largest %d bytes, %d bad checksums, %d said CsumPartial", biggest, badSum, partial)
			}
			// The kernel's flag is what a checksum check needs: every
			// packet whose checksum does not verify is one it says is
			// partial.
			if badNotPartial != 0 {
				t.Errorf("%d packets with a failing checksum not said CsumPartial", badNotPartial)
			}
		})
	}
}
