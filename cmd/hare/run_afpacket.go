//go:build linux

package main

import (
	"log/slog"

	"github.com/hare-fw/hare/daemon"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/datapath/afpacket"
)

func init() { datapathOpeners["afpacket"] = openAFPacket }

// openAFPacket opens the AF_PACKET bridge [datapath] describes, with
// [workers] count fanout sockets per interface.
func openAFPacket(c *daemon.Config, _ *slog.Logger) (datapath.Datapath, error) {
	d := &c.Datapath
	ac := afpacket.DefaultConfig(d.Interfaces[0], d.Interfaces[1])
	ac.Workers = c.WorkerCount()
	ac.PassARP, ac.PassNonIP, ac.Defrag = d.PassARP, d.PassNonIP, d.Defrag
	ring, err := afpacket.ParseRing(d.Ring)
	if err != nil {
		return nil, err
	}
	ac.Ring = ring
	if d.RingFrames != 0 {
		ac.Frames = d.RingFrames
	}
	return afpacket.Open(ac)
}
