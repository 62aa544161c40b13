package afpacket

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hare-fw/hare/datapath"
	"golang.org/x/sys/unix"
)

// TestNoEchoNoDuplicate sends 50 frames through a bridge of 3 workers and
// counts: each is read once, from A, and arrives once (no socket outside
// its fanout group forwards a copy). Frames hare sends on B are not read
// back from B: a fanout group skips what its own members send
// (match_fanout_group in dev_queue_xmit_nit). Then a frame the bridge
// host itself sends on B must not be forwarded to A either, which is what
// PACKET_FANOUT_FLAG_IGNORE_OUTGOING is for.
func TestNoEchoNoDuplicate(t *testing.T) { forRings(t, testNoEchoNoDuplicate) }

func testNoEchoNoDuplicate(t *testing.T, ring Ring) {
	tp := needTopology(t)
	var fromA, fromB atomic.Int64
	var inA atomic.Int64
	r := startBridge(t, ring, 3, func(port datapath.Port, p *datapath.Packet) {
		if bytes.Contains(p.Data, []byte("echo-test")) {
			if int64(p.InIf) == inA.Load() {
				fromA.Add(1)
			} else {
				fromB.Add(1)
			}
		}
		dropDiscard(port, p)
	})
	inA.Store(int64(r.br.ifs[0].index))
	tx := rawSock(t, tp.client, "c0")
	rx := rawSock(t, tp.server, "s0")
	const n = 50
	for i := range n {
		// Different source ports: the frames spread over the workers.
		f := taggedFrame(nil, fmt.Sprintf("echo-test-%02d", i))
		f[14+20+1] = byte(i)
		if _, err := unix.Write(tx, f); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	buf := make([]byte, 2048)
	for len(got) < n {
		m, err := unix.Read(rx, buf)
		if err != nil {
			t.Fatalf("%d of %d frames arrived: %v", len(got), n, err)
		}
		if i := bytes.Index(buf[:m], []byte("echo-test-")); i >= 0 {
			got[string(buf[i:m])]++
		}
	}
	// A fence, so that late duplicates would be counted.
	if _, err := unix.Write(tx, taggedFrame(nil, "echo-fence")); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := unix.Read(rx, buf)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasSuffix(buf[:m], []byte("echo-fence")) {
			break
		}
		if i := bytes.Index(buf[:m], []byte("echo-test-")); i >= 0 {
			got[string(buf[i:m])]++
		}
	}
	for k, c := range got {
		if c != 1 {
			t.Errorf("%s arrived %d times", k, c)
		}
	}
	if a, b := fromA.Load(), fromB.Load(); a != n || b != 0 {
		t.Errorf("workers read the frames %d times from A and %d times from B, want %d and 0", a, b, n)
	}

	// A frame sent on b1 from the bridge namespace, then a fence from the
	// server with the same addresses and ports (same hash, same worker,
	// so the order holds): only the fence may reach the client.
	local := rawSock(t, tp.bridge, "b1")
	srv := rawSock(t, tp.server, "s0")
	cli := rawSock(t, tp.client, "c0")
	if _, err := unix.Write(local, taggedFrame(nil, "local-out")); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(srv, taggedFrame(nil, "back-fence")); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := unix.Read(cli, buf)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasSuffix(buf[:m], []byte("local-out")) {
			t.Error("a frame the bridge host sent on B was forwarded to A")
		}
		if bytes.HasSuffix(buf[:m], []byte("back-fence")) {
			break
		}
	}
}

// TestLinkFlap takes the egress interface down and up under the bridge:
// transmissions fail while it is down (Errors), the sockets come back
// into their fanout groups with it (packet_notifier → register_prot_hook),
// and traffic flows again.
func TestLinkFlap(t *testing.T) { forRings(t, testLinkFlap) }

func testLinkFlap(t *testing.T, ring Ring) {
	tp := needTopology(t)
	r := startBridge(t, ring, 2, dropDiscard)
	ping := func() error {
		return nsRun(tp.client, "ping", "-c", "1", "-W", "5", serverIP4)
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}
	if err := run("ip", "-n", tp.bridge, "link", "set", "b1", "down"); err != nil {
		t.Fatal(err)
	}
	if err := nsRun(tp.client, "ping", "-c", "1", "-W", "1", serverIP4); err == nil {
		t.Error("ping crossed the bridge with b1 down")
	}
	if err := run("ip", "-n", tp.bridge, "link", "set", "b1", "up"); err != nil {
		t.Fatal(err)
	}
	if err := nsRun(tp.client, "ping", "-c", "3", "-i", "0.2", "-w", "10", serverIP4); err != nil {
		t.Errorf("no traffic after b1 came back up: %v (%+v)", err, r.stats())
	}
}

// TestEthtoolFlags reads a veth's offload flags with ETHTOOL_GFLAGS, the
// call Open makes to turn LRO off: the ioctl plumbing (struct ifreq with
// ifr_data, struct ethtool_value) works, and a veth, which has no LRO,
// needs no change.
func TestEthtoolFlags(t *testing.T) {
	tp := needTopology(t)
	inNetns(t, tp.bridge, func() {
		ctl, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(ctl)
		var v ethtoolValue
		if err := ethtoolFlags(ctl, "b0", unix.ETHTOOL_GFLAGS, &v); err != nil {
			t.Fatalf("ETHTOOL_GFLAGS: %v", err)
		}
		if v.data&ethFlagLRO != 0 {
			t.Errorf("veth reports LRO on: flags %#x", v.data)
		}
		if changed, err := setLRO(ctl, "b0", false); changed || err != nil {
			t.Errorf("setLRO(off) on a veth: changed %v, %v", changed, err)
		}
		if err := ethtoolFlags(ctl, "nosuch0", unix.ETHTOOL_GFLAGS, &v); err == nil {
			t.Error("ETHTOOL_GFLAGS on a missing interface succeeded")
		}
	})
}
