package daemon

import (
	"reflect"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/ruleset"
)

// Reload re-reads the configuration file and its ruleset and, if both are
// valid, puts them in force; otherwise it logs the error (with its
// file:line), counts it, and the running configuration stays. The
// connection table is kept, and the new ruleset is compiled with
// engine.Update, which keeps the contents of dynamic sets whose
// declaration did not change (the file's rules are new rules: their
// counters start over, as after nft -f with flush ruleset). Conntrack
// settings apply at once; what only a restart can change is logged as
// such.
func (d *Daemon) Reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	old := d.cfg.Load()
	err := d.reload(old)
	if err != nil {
		d.ReloadFailures.Add(1)
		d.log.Error("reload refused; the running configuration stays", "error", err.Error())
		return err
	}
	return nil
}

func (d *Daemon) reload(old *Config) error {
	c, err := LoadConfig(old.Path)
	if err != nil {
		return err
	}
	rs, err := ruleset.LoadFile(c.Ruleset.File)
	if err != nil {
		return rulesetFileError(c, err)
	}
	comp, err := engine.Update(d.eng.Rules(), rs)
	if err != nil {
		return err
	}
	d.eng.Swap(comp)
	d.table.SetSettings(c.Conntrack)
	// A bridge that can change what it passes unjudged does so now;
	// otherwise pass_arp and pass_non_ip wait for a restart.
	passNonIP := old.Datapath.PassNonIP
	if sp, ok := d.dp.(passSetter); ok {
		sp.SetPass(c.Datapath.PassARP, c.Datapath.PassNonIP)
		passNonIP = c.Datapath.PassNonIP
	}
	d.pol.Store(&policy{acceptInvalid: c.Workers.Invalid == "accept", passNonIP: passNonIP})
	if lv, err := ParseLevel(c.Log.Level); err == nil {
		d.level.Set(lv)
	}
	d.ifGen.Add(1)
	gen := d.Generation.Add(1)
	_, livePass := d.dp.(passSetter)
	for _, s := range restartOnly(old, c, livePass) {
		d.log.Warn("setting changed; it takes effect at the next restart", "setting", s)
	}
	// Keep what only a restart changes as it is, so that a later
	// reload compares against what is really running.
	kept := *c
	kept.Datapath, kept.Control, kept.Metrics, kept.State = old.Datapath, old.Control, old.Metrics, old.State
	if livePass {
		kept.Datapath.PassARP, kept.Datapath.PassNonIP = c.Datapath.PassARP, c.Datapath.PassNonIP
	}
	kept.Workers.Count, kept.Workers.Batch = old.Workers.Count, old.Workers.Batch
	kept.Log.Format, kept.Log.PcapDir, kept.Log.PcapRotateBytes, kept.Log.PcapKeep = old.Log.Format, old.Log.PcapDir, old.Log.PcapRotateBytes, old.Log.PcapKeep
	d.cfg.Store(&kept)
	d.log.Info("reloaded", "generation", gen, "ruleset", c.Ruleset.File)
	return nil
}

// passSetter is a datapath that can change, while it runs, whether it
// passes ARP and other non-IP frames unjudged (afpacket.Bridge.SetPass).
type passSetter interface{ SetPass(arp, nonIP bool) }

// restartOnly lists the settings that differ between old and c and that
// only a restart applies; livePass says the datapath applies pass_arp and
// pass_non_ip at once.
func restartOnly(old, c *Config, livePass bool) []string {
	var out []string
	diff := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, name)
		}
	}
	od, cd := old.Datapath, c.Datapath
	if livePass {
		od.PassARP, od.PassNonIP = cd.PassARP, cd.PassNonIP
	}
	diff("datapath", od, cd)
	diff("workers.count", old.Workers.Count, c.Workers.Count)
	diff("workers.batch", old.Workers.Batch, c.Workers.Batch)
	diff("workers.reap_interval_ms", old.Workers.ReapInterval, c.Workers.ReapInterval)
	diff("workers.reap_budget", old.Workers.ReapBudget, c.Workers.ReapBudget)
	diff("control", old.Control, c.Control)
	diff("metrics", old.Metrics, c.Metrics)
	diff("state", old.State, c.State)
	diff("log.format", old.Log.Format, c.Log.Format)
	diff("log.pcap_dir", old.Log.PcapDir, c.Log.PcapDir)
	diff("log.pcap_rotate_bytes", old.Log.PcapRotateBytes, c.Log.PcapRotateBytes)
	diff("log.pcap_keep", old.Log.PcapKeep, c.Log.PcapKeep)
	for _, n := range []string{"ipfrag_time", "frag6_timeout", "ipfrag_high_thresh", "ipfrag_low_thresh", "frag6_high_thresh", "frag6_low_thresh"} {
		a, _ := old.Conntrack.Get(n)
		b, _ := c.Conntrack.Get(n)
		diff("conntrack."+n, a, b)
	}
	return out
}
