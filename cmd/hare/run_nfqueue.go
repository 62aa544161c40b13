//go:build linux

package main

import (
	"log/slog"

	"github.com/hare-fw/hare/daemon"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/datapath/nfqueue"
)

func init() {
	datapathOpeners["nfqueue"] = openNFQueue
	printRules = nfqueueRules
	removeRules = nfqueueRemoveRules
}

// nfqueueConfig is [datapath] (kind nfqueue) as package nfqueue takes it.
func nfqueueConfig(c *daemon.Config) (nfqueue.Config, error) {
	d := &c.Datapath
	nc := nfqueue.Config{
		Queues:       d.Queues,
		MaxQueueLen:  d.MaxQueueLen,
		FailOpen:     d.FailOpen,
		InstallRules: d.InstallRules,
		// Fail-closed holds while hare is stopped: the queue rules (and
		// the notrack table, so the kernel's conntrack stays out of the
		// way of what the next start restores) stay, and with no
		// listener and no --queue-bypass the kernel drops. Failing open,
		// the stop removes both and traffic passes unfiltered.
		KeepRules: !d.FailOpen,
		Notrack:   d.InstallRules && d.Notrack,
		GSO:       d.GSO,
		Batch:     c.Workers.Batch,
	}
	for _, h := range d.Hooks {
		hk, err := nfqueue.ParseHook(h)
		if err != nil {
			return nc, err
		}
		nc.Hooks = append(nc.Hooks, hk)
	}
	return nc, nil
}

// openNFQueue binds the configured queues, one worker each, and installs
// the queue and notrack rules if told to.
func openNFQueue(c *daemon.Config, _ *slog.Logger) (datapath.Datapath, error) {
	nc, err := nfqueueConfig(c)
	if err != nil {
		return nil, err
	}
	return nfqueue.Open(nc)
}

// nfqueueRules returns the commands that queue packets to hare as c says
// (nfqueue.Rules): what install_rules installs, or what to install by
// hand without it.
func nfqueueRules(c *daemon.Config) ([]string, error) {
	nc, err := nfqueueConfig(c)
	if err != nil {
		return nil, err
	}
	nc.Notrack = c.Datapath.Notrack
	return nfqueue.Rules(nc)
}

// nfqueueRemoveRules takes the rules hare installs for c out of the
// kernel (nfqueue.RemoveRules): after a fail-closed stop or a crash.
func nfqueueRemoveRules(c *daemon.Config) error {
	nc, err := nfqueueConfig(c)
	if err != nil {
		return err
	}
	return nfqueue.RemoveRules(nc)
}
