package daemon

import (
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/metrics"
)

// listenControl opens the control API's socket ([control] socket, group)
// and serves it until Stop. hare ct and hare nft talk to it.
func (d *Daemon) listenControl(c *Config) error {
	if c.Control.Socket == "" {
		return nil
	}
	srv, err := control.Listen(control.Config{Path: c.Control.Socket, Group: c.Control.Group, Log: d.log},
		control.Backend{
			Table:  d.table,
			Events: d.events,
			Engine: d.eng,
			Now:    d.now,
			Reload: d.Reload,
			Stats:  func() any { return d.Stats() },
			Trace:  d.trace,
		})
	if err != nil {
		return err
	}
	d.ctl = srv
	go func() {
		if err := srv.Serve(); err != nil {
			d.log.Error("control API stopped", "error", err.Error())
		}
	}()
	d.log.Info("control API listening", "socket", srv.Path())
	return nil
}

// Stats are the daemon's own counters, as the control API serves them
// (GET /v1/stats); the Prometheus endpoint has the same and more.
type Stats struct {
	Generation     uint64        `json:"ruleset_generation"`
	ReloadFailures uint64        `json:"reload_failures"`
	Workers        []WorkerCount `json:"workers"`
}

// WorkerCount is one worker's counters and its port's.
type WorkerCount struct {
	Batches  uint64             `json:"batches"`
	Packets  uint64             `json:"packets"`
	Bytes    uint64             `json:"bytes"` // layer 3
	Accepted uint64             `json:"accepted"`
	Dropped  uint64             `json:"dropped"`  // without a reply
	Rejected uint64             `json:"rejected"` // dropped with a reply
	Drops    map[string]uint64  `json:"drops,omitempty"`
	Extras   Extras             `json:"extras"`
	Port     datapath.PortStats `json:"port"`
}

// Stats returns the daemon's counters now (each worker's as of its last
// batch).
func (d *Daemon) Stats() Stats {
	st := Stats{Generation: d.Generation.Load(), ReloadFailures: d.ReloadFailures.Load()}
	for _, w := range d.workers {
		var ms metrics.WorkerStats
		w.Counters().Snapshot(&ms)
		wc := WorkerCount{Batches: ms.Batches, Accepted: ms.Packets[metrics.VerdictAccept],
			Dropped: ms.Packets[metrics.VerdictDrop], Rejected: ms.Packets[metrics.VerdictReject],
			Extras: w.Extras(), Port: w.Port().Stats()}
		for v := range ms.Packets {
			wc.Packets += ms.Packets[v]
			wc.Bytes += ms.Bytes[v]
		}
		for r, n := range ms.Drops {
			if n != 0 {
				if wc.Drops == nil {
					wc.Drops = map[string]uint64{}
				}
				wc.Drops[metrics.DropReason(r).String()] = n
			}
		}
		st.Workers = append(st.Workers, wc)
	}
	return st
}
