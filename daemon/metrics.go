package daemon

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/metrics"
)

// metricsSources are what the Prometheus collector reads at scrape time:
// the table and the events its subscribers (conntrack -E streams) lost,
// the workers' counters, their ports', and the ruleset's generation.
func (d *Daemon) metricsSources() metrics.Sources {
	return metrics.Sources{
		Table:      d.table,
		EventsLost: d.events.Lost,
		Ports: func() []datapath.PortStats {
			out := make([]datapath.PortStats, len(d.workers))
			for i, w := range d.workers {
				out[i] = w.Port().Stats()
			}
			return out
		},
		Workers: func() []*metrics.Counters {
			out := make([]*metrics.Counters, len(d.workers))
			for i, w := range d.workers {
				out[i] = w.Counters()
			}
			return out
		},
		Ruleset: func() (uint64, uint64) { return d.Generation.Load(), d.ReloadFailures.Load() },
	}
}

// listenMetrics serves /metrics on [metrics] listen until Stop.
func (d *Daemon) listenMetrics(c *Config) error {
	if c.Metrics.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", c.Metrics.Listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(d.metricsSources()))
	d.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics endpoint stopped", "error", err.Error())
		}
	}()
	d.metricsAddr = ln.Addr().String()
	d.log.Info("metrics endpoint listening", "address", d.metricsAddr)
	return nil
}

// MetricsAddr returns the address the metrics endpoint listens on ("" for
// none): [metrics] listen with the port the kernel chose for port 0.
func (d *Daemon) MetricsAddr() string { return d.metricsAddr }
