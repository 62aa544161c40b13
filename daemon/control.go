package daemon

import (
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
)

func packetReason(r int) string { return packet.Reason(r).String() }
func defragReason(r int) string { return defrag.Reason(r).String() }

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
// (GET /v1/stats) and the metrics collector reads them.
type Stats struct {
	Generation     uint64        `json:"ruleset_generation"`
	ReloadFailures uint64        `json:"reload_failures"`
	Workers        []WorkerCount `json:"workers"`
}

// WorkerCount is one worker's counters and its port's.
type WorkerCount struct {
	Batches     uint64             `json:"batches"`
	Packets     uint64             `json:"packets"`
	Bytes       uint64             `json:"bytes"`
	Accepted    uint64             `json:"accepted"`
	Dropped     uint64             `json:"dropped"`
	Rejected    uint64             `json:"rejected"`
	Injected    uint64             `json:"injected"`
	NotIP       uint64             `json:"not_ip"`
	Invalid     map[string]uint64  `json:"invalid,omitempty"`
	FragHeld    uint64             `json:"frag_held"`
	FragDropped map[string]uint64  `json:"frag_dropped,omitempty"`
	Errors      uint64             `json:"errors"`
	Port        datapath.PortStats `json:"port"`
}

// Stats returns the daemon's counters now.
func (d *Daemon) Stats() Stats {
	st := Stats{Generation: d.Generation.Load(), ReloadFailures: d.ReloadFailures.Load()}
	for _, w := range d.workers {
		s := &w.Stats
		wc := WorkerCount{
			Batches: s.Batches.Load(), Packets: s.Packets.Load(), Bytes: s.Bytes.Load(),
			Accepted: s.Accepted.Load(), Dropped: s.Dropped.Load(), Rejected: s.Rejected.Load(),
			Injected: s.Injected.Load(), NotIP: s.NotIP.Load(), FragHeld: s.FragHeld.Load(),
			Errors: s.Errors.Load(), Port: w.port.Stats(),
		}
		for r := range s.Invalid {
			if n := s.Invalid[r].Load(); n != 0 {
				if wc.Invalid == nil {
					wc.Invalid = map[string]uint64{}
				}
				wc.Invalid[packetReason(r)] = n
			}
		}
		for r := range s.FragDropped {
			if n := s.FragDropped[r].Load(); n != 0 {
				if wc.FragDropped == nil {
					wc.FragDropped = map[string]uint64{}
				}
				wc.FragDropped[defragReason(r)] = n
			}
		}
		st.Workers = append(st.Workers, wc)
	}
	return st
}
