package nfqueue

import (
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hare-fw/hare/datapath"
)

// BenchmarkQueue is the rate of one queue read by one worker that
// accepts everything: 64-byte UDP datagrams flooded from c to f (input)
// or through f to s (forward). It measures the datapath alone (netlink
// receive, batched verdicts), not a ruleset. ns/op is per packet.
func BenchmarkQueue(b *testing.B) {
	for _, bc := range []struct {
		name string
		hook datapath.Hook
		dst  string
	}{{"input", datapath.HookInput, "10.77.1.2:9"}, {"forward", datapath.HookForward, "10.77.2.1:9"}} {
		b.Run(bc.name, func(b *testing.B) {
			tp := newTopo(b)
			d := tp.openIn(b, tp.f, Config{Queues: "0", Hooks: []datapath.Hook{bc.hook}, InstallRules: true, Notrack: true})
			var stop atomic.Bool
			defer stop.Store(true)
			tp.flood(b, tp.c, netip.MustParseAddrPort(bc.dst), 64, &stop)
			p := d.Ports()[0]
			batch := datapath.Batch{Pkts: make([]datapath.Packet, 0, 64)}
			// The reader's own CPU time (user + system: the verdict's
			// write also carries the packet on through the kernel) per
			// packet is steadier than the rate on a shared machine.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var ru0, ru1 unix.Rusage
			b.ReportAllocs()
			b.ResetTimer()
			unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
			start := time.Now()
			n, reads := 0, 0
			for n < b.N {
				if err := p.Read(&batch); err != nil {
					b.Fatal(err)
				}
				reads++
				n += len(batch.Pkts)
				for i := range batch.Pkts {
					batch.Pkts[i].Verdict = datapath.Accept
				}
				if err := p.Done(&batch); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start)
			unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
			b.StopTimer()
			cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/pkt")
			b.ReportMetric(float64(n)/el.Seconds(), "pkts/s")
			b.ReportMetric(float64(n)/float64(reads), "pkts/batch")
			st := p.Stats()
			b.ReportMetric(float64(st.KernelDrops), "kernel-drops")
		})
	}
}
