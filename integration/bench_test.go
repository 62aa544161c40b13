package integration

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// portIperf is iperf3's port; the ruleset lets the client open it (TCP
// and UDP) so that the benchmark crosses the same filtering as the tests.
const portIperf = 5201

// TestBenchLive measures throughput and latency through every firewall:
// an iperf3 TCP stream, an iperf3 flood of 64-byte UDP datagrams
// (-b 0: as fast as the client can send), and 100 pings 10 ms apart, IPv4
// and IPv6. It is not a test of anything (it asserts only that the
// traffic flowed): scripts/bench-live.sh runs it with HARE_BENCH=1 and
// the results go to BENCHMARKS.md. Tests never measure time; this one is
// skipped unless asked for.
func TestBenchLive(t *testing.T) {
	if os.Getenv("HARE_BENCH") != "1" {
		t.Skip("live benchmarks run only with HARE_BENCH=1 (scripts/bench-live.sh)")
	}
	needNetns(t, "iperf3")
	secs := 5
	if s, err := strconv.Atoi(os.Getenv("BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	var rows []benchRow
	for _, fw := range firewalls() {
		t.Run(fw.name(), func(t *testing.T) {
			e := setup(t, fw)
			startIn(t, e.tp.server, nil, "iperf3", "-s", "--forceflush")
			time.Sleep(300 * time.Millisecond)
			for _, v := range []int{4, 6} {
				r := benchRow{fw: fw.name(), v: v}
				srv := e.tp.serverIP[v].String()
				// Latency first, on an idle path: the floods leave queues
				// behind them.
				r.rttMedian, r.rttP99 = pingRTT(t, e.tp.client, v, e.tp.serverIP[v])
				r.tcpBps = iperfTCP(t, e.tp.client, srv, secs)
				h, isHare := fw.(*hareFW)
				var before map[string]float64
				if isHare {
					before = h.metrics()
				}
				r.udpPPS, r.udpLoss = iperfUDP(t, e.tp.client, srv, secs)
				if isHare {
					r.workers = perWorker(before, h.metrics(), secs)
				}
				t.Logf("%s", r)
				rows = append(rows, r)
			}
		})
	}
	fmt.Println(benchTable(rows))
}

type benchRow struct {
	fw                string
	v                 int
	tcpBps            float64
	udpPPS            float64 // 64-byte datagrams received per second
	udpLoss           float64 // percent
	rttMedian, rttP99 float64 // ms
	workers           string  // hare, during the UDP flood: packets per second per worker, kernel drops
}

func (r benchRow) String() string {
	return fmt.Sprintf("%s IPv%d: TCP %.2f Gbit/s, UDP-64 %.0f pps received (%.1f%% lost), RTT median %.3f ms p99 %.3f ms %s",
		r.fw, r.v, r.tcpBps/1e9, r.udpPPS, r.udpLoss, r.rttMedian, r.rttP99, r.workers)
}

// benchTable prints the rows as a Markdown table with each hare result's
// ratio to the kernel on the same topology (routed: kernel-routed,
// bridged: kernel-bridge).
func benchTable(rows []benchRow) string {
	base := map[string]benchRow{}
	for _, r := range rows {
		base[fmt.Sprint(r.fw, r.v)] = r
	}
	kernelOf := map[string]string{"hare-nfqueue": "kernel-routed", "hare-afpacket": "kernel-bridge", "hare-afpacket-v2": "kernel-bridge"}
	var b strings.Builder
	b.WriteString("| firewall | IP | TCP Gbit/s | ratio | UDP 64 B kpps | ratio | UDP loss | RTT median ms | added | RTT p99 ms |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		tr, ur, lat := "", "", ""
		if k, ok := base[fmt.Sprint(kernelOf[r.fw], r.v)]; ok {
			tr = fmt.Sprintf("%.2f", r.tcpBps/k.tcpBps)
			ur = fmt.Sprintf("%.2f", r.udpPPS/k.udpPPS)
			lat = fmt.Sprintf("%+.3f", r.rttMedian-k.rttMedian)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %s | %.1f | %s | %.1f%% | %.3f | %s | %.3f |\n",
			r.fw, r.v, r.tcpBps/1e9, tr, r.udpPPS/1e3, ur, r.udpLoss, r.rttMedian, lat, r.rttP99)
	}
	return b.String()
}

// iperfTCP returns the bits per second the server received.
func iperfTCP(t *testing.T, ns netns, srv string, secs int) float64 {
	t.Helper()
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	out := iperf(ns, "-J", "-c", srv, "-t", fmt.Sprint(secs))
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Error != "" || res.End.SumReceived.BitsPerSecond == 0 {
		t.Fatalf("iperf3 TCP to %s: %v %s\n%.2000s", srv, err, res.Error, out)
	}
	return res.End.SumReceived.BitsPerSecond
}

// iperfUDP floods 64-byte datagrams and returns the datagrams per second
// the server received and the percentage lost.
func iperfUDP(t *testing.T, ns netns, srv string, secs int) (pps, loss float64) {
	t.Helper()
	var res struct {
		End struct {
			Sum struct {
				Seconds     float64 `json:"seconds"`
				Packets     float64 `json:"packets"`
				LostPackets float64 `json:"lost_packets"`
				LostPercent float64 `json:"lost_percent"`
			} `json:"sum"`
		} `json:"end"`
		Error string `json:"error"`
	}
	out := iperf(ns, "-J", "-u", "-l", "64", "-b", "0", "-c", srv, "-t", fmt.Sprint(secs))
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Error != "" || res.End.Sum.Packets == 0 {
		// The flood can starve iperf3's own TCP control connection: a
		// result in itself, recorded as such.
		t.Logf("iperf3 UDP to %s failed: %v %s", srv, err, res.Error)
		return math.NaN(), math.NaN()
	}
	s := res.End.Sum
	return (s.Packets - s.LostPackets) / s.Seconds, s.LostPercent
}

// iperf runs the iperf3 client, again (up to 5 times, a second apart)
// while the server still finishes the previous test ("the server is busy").
func iperf(ns netns, args ...string) string {
	for i := 0; ; i++ {
		out, _ := ns.run("iperf3", args...)
		if i == 4 || !strings.Contains(out, "server is busy") {
			return out
		}
		time.Sleep(time.Second)
	}
}

var rttRE = regexp.MustCompile(`time=([0-9.]+) ms`)

// pingRTT sends 100 pings 10 ms apart and returns the median and 99th
// percentile round-trip times in milliseconds.
func pingRTT(t *testing.T, ns netns, v int, dst interface{ String() string }) (median, p99 float64) {
	t.Helper()
	// One ping first, so that neighbour discovery is not measured.
	ns.run("ping", fmt.Sprintf("-%d", v), "-c", "1", "-W", "1", dst.String())
	out, err := ns.run("ping", fmt.Sprintf("-%d", v), "-c", "100", "-i", "0.01", "-W", "1", dst.String())
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	var rtts []float64
	for _, m := range rttRE.FindAllStringSubmatch(out, -1) {
		f, _ := strconv.ParseFloat(m[1], 64)
		rtts = append(rtts, f)
	}
	if len(rtts) < 90 {
		t.Fatalf("ping: %d replies of 100\n%s", len(rtts), out)
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2], rtts[len(rtts)*99/100]
}

var metricRE = regexp.MustCompile(`(?m)^(hare_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+]+)$`)

// metrics reads hare's metrics endpoint (inside the firewall namespace).
func (h *hareFW) metrics() map[string]float64 {
	out, err := h.tp.fw.run("curl", "-s", "http://127.0.0.1:9108/metrics")
	if err != nil {
		return nil
	}
	m := map[string]float64{}
	for _, l := range metricRE.FindAllStringSubmatch(out, -1) {
		m[l[1]], _ = strconv.ParseFloat(l[2], 64)
	}
	return m
}

// perWorker describes what each worker did between two metrics reads
// over secs seconds: packets decided per second, and the kernel's drops.
func perWorker(before, after map[string]float64, secs int) string {
	var parts []string
	for k, v := range after {
		switch {
		case strings.HasPrefix(k, "hare_worker_packets_total"):
			parts = append(parts, fmt.Sprintf("%s: %.0f pps", strings.TrimPrefix(k, "hare_worker_packets_total"), (v-before[k])/float64(secs)))
		case strings.HasPrefix(k, "hare_datapath_kernel_drops_total") && v > before[k]:
			parts = append(parts, fmt.Sprintf("kernel drops %s: %.0f", strings.TrimPrefix(k, "hare_datapath_kernel_drops_total"), v-before[k]))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
