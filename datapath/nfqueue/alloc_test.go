package nfqueue

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hare-fw/hare/datapath"
)

// flood sends UDP datagrams of size bytes from ns to dst with a plain
// socket (no allocation in the loop, so it does not disturb the counts)
// until stop is set. It returns once the socket is connected.
func (tp *topo) flood(t testing.TB, ns string, dst netip.AddrPort, size int, stop *atomic.Bool) {
	t.Helper()
	ready := make(chan struct{})
	go tp.inNS(t, ns, func() {
		fam := unix.AF_INET
		var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}
		if dst.Addr().Is6() {
			fam, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(dst.Port()), Addr: dst.Addr().As16()}
		}
		fd, err := unix.Socket(fam, unix.SOCK_DGRAM, 0)
		if err == nil {
			err = unix.Connect(fd, sa)
		}
		close(ready)
		if err != nil {
			t.Errorf("flood socket: %v", err)
			return
		}
		defer unix.Close(fd)
		buf := make([]byte, size)
		for !stop.Load() {
			unix.Write(fd, buf) // ECONNREFUSED from an ICMP error, ENOBUFS: keep going
		}
	})
	<-ready
}

// TestReadDoneAllocs checks that a worker's Read/Done cycle allocates
// nothing once running, with packets flowing.
func TestReadDoneAllocs(t *testing.T) {
	tp := newTopo(t)
	d := tp.openIn(t, tp.f, Config{Queues: "0", Hooks: []datapath.Hook{datapath.HookInput}, InstallRules: true, Notrack: true})
	var stop atomic.Bool
	defer stop.Store(true)
	tp.flood(t, tp.c, netip.MustParseAddrPort("10.77.1.2:9"), 64, &stop)
	p := d.Ports()[0]
	b := datapath.Batch{Pkts: make([]datapath.Packet, 0, 64)}
	var n, marked int
	cycle := func() {
		if err := p.Read(&b); err != nil {
			t.Fatal(err)
		}
		for i := range b.Pkts {
			// Every third packet dropped, every fifth given a mark: runs
			// and single verdicts both.
			b.Pkts[i].Verdict = datapath.Accept
			if n%3 == 0 {
				b.Pkts[i].Verdict = datapath.Drop
			}
			if n%5 == 0 {
				b.Pkts[i].SetMark, b.Pkts[i].NewMark = true, 7
				marked++
			}
			n++
		}
		if err := p.Done(&b); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	if a := testing.AllocsPerRun(200, cycle); a != 0 {
		t.Errorf("Read+Done allocates %.2f times per batch", a)
	}
	stop.Store(true)
	st := p.Stats()
	if st.Errors != 0 || st.Received != uint64(n) || st.Accepted+st.Dropped != uint64(n) || marked == 0 {
		t.Errorf("stats %+v after %d packets", st, n)
	}
	t.Logf("%d packets in 201 batches", n)
}
