package afpacket

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestRingFullNotReadTwice: when user space holds every slot or block of a
// ring (a Read whose batch is larger than the ring), the slot or block
// after the last one read is the oldest held, still TP_STATUS_USER; it
// must not be read again (its frames would be decided and sent twice).
// The rings here are plain memory laid out as the kernel would hand them
// over, every slot or block TP_STATUS_USER.
func TestRingFullNotReadTwice(t *testing.T) {
	t.Run("v2", func(t *testing.T) {
		const n = 2 * framesPerBlock
		r := &ring2{mem: make([]byte, 2*block2Size), n: n}
		for i := range n {
			off := r.slot(i)
			ne.PutUint32(r.mem[off+tp2Status:], unix.TP_STATUS_USER)
			ne.PutUint16(r.mem[off+tp2Mac:], uint16(100+i))
		}
		seen := map[int]bool{}
		for range 3 * n {
			f, ok := r.next()
			if !ok {
				break
			}
			if seen[f.mac] {
				t.Fatalf("slot with mac offset %d read twice", f.mac)
			}
			seen[f.mac] = true
		}
		if len(seen) != n {
			t.Fatalf("read %d frames of a full ring of %d", len(seen), n)
		}
		r.release()
		for i := range n {
			if got := *r.status(i); got != unix.TP_STATUS_KERNEL {
				t.Errorf("slot %d: status %#x after release", i, got)
			}
		}
		if _, ok := r.next(); ok {
			t.Error("a frame after every slot was given back")
		}
	})
	t.Run("v3", func(t *testing.T) {
		const bsize, blocks, perBlock = 4096, 4, 3
		r := &ring3{mem: make([]byte, bsize*blocks), bsize: bsize, n: blocks}
		for b := range blocks {
			base := b * bsize
			ne.PutUint32(r.mem[base+blkStatus:], unix.TP_STATUS_USER)
			ne.PutUint32(r.mem[base+blkNumPkts:], perBlock)
			ne.PutUint32(r.mem[base+blkFirstPkt:], 64)
			for k := range perBlock {
				off := base + 64 + k*256
				ne.PutUint32(r.mem[off+tpNextOffset:], 256)
				ne.PutUint16(r.mem[off+tpMac:], uint16(k))
			}
		}
		seen := map[int]bool{}
		for range 3 * blocks * perBlock {
			f, ok := r.next()
			if !ok {
				break
			}
			if seen[f.mac] {
				t.Fatalf("frame at %d read twice", f.mac)
			}
			seen[f.mac] = true
		}
		if len(seen) != blocks*perBlock {
			t.Fatalf("read %d frames of a full ring of %d", len(seen), blocks*perBlock)
		}
		r.release()
		for b := range blocks {
			if got := *r.status(b); got != unix.TP_STATUS_KERNEL {
				t.Errorf("block %d: status %#x after release", b, got)
			}
		}
	})
}

// TestRingVersion: the sockets of a bridge use the TPACKET version its
// Config.Ring names (packet_getsockopt PACKET_VERSION).
func TestRingVersion(t *testing.T) {
	forRings(t, func(t *testing.T, ring Ring) {
		r := startBridge(t, ring, 1, dropDiscard)
		want := map[Ring]int{RingV3: unix.TPACKET_V3, RingV2: unix.TPACKET_V2}[ring]
		p := r.br.ports[0]
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, s := range p.s {
			v, err := unix.GetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION)
			if err != nil || v != want {
				t.Errorf("PACKET_VERSION %d (%v), want %d", v, err, want)
			}
		}
	})
}
