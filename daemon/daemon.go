package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/ruleset"
)

// Opener opens the datapath a configuration names. The daemon does not
// import the datapath packages itself (cmd/hare passes one that does), so
// that it can be embedded and tested without them.
type Opener func(c *Config, log *slog.Logger) (datapath.Datapath, error)

// Options are what New needs besides the configuration.
type Options struct {
	// Open opens the datapath; Start fails without it.
	Open Opener
	// LogOutput receives the operational log (default os.Stderr).
	LogOutput io.Writer
	// IfName, when not nil, replaces the kernel's interface names (tests);
	// IfType then gives their types (nil: the replay's, ARPHRD_NONE).
	IfName func(int) (string, bool)
	IfType func(int) (uint16, bool)
	// Ifindex, when not nil, replaces the kernel's interface indexes by
	// name, which `iif "NAME"` and `oif "NAME"` compile to (tests).
	Ifindex func(string) (int32, bool)
	// Now, when not nil, replaces the table clock (tests).
	Now func() int64
}

// Daemon is a running hare: a connection table, an engine with the
// configured ruleset, and one worker per datapath port.
//
// Lifecycle: New (compiles the ruleset), Start (restores the connection
// table, opens the datapath, starts the workers and the reaper), Reload any
// number of times, Stop (drains, closes the datapath, saves the table).
type Daemon struct {
	log   *slog.Logger
	level *slog.LevelVar
	now   func() int64
	opt   Options

	cfg    atomic.Pointer[Config]
	pol    atomic.Pointer[policy]
	events *conntrack.Events
	table  *conntrack.Table
	eng    *engine.Engine
	sink   *logSink
	trace  *control.TraceHub

	reloadMu sync.Mutex // serialises Reload
	// Generation counts the rulesets put in force (1 after New);
	// ReloadFailures the reloads refused.
	Generation     atomic.Uint64
	ReloadFailures atomic.Uint64

	dp          datapath.Datapath
	workers     []*Worker
	ifGen       atomic.Uint64
	stop        atomic.Bool
	wg          sync.WaitGroup
	reapEnd     chan struct{}
	stopped     bool
	restored    bool            // Start has restored the saved table (Stop may save it)
	ctl         *control.Server // nil: no control socket
	metricsSrv  *http.Server    // nil: no metrics endpoint
	metricsAddr string
}

// Check validates the configuration file at path and the ruleset it
// names, compiling the ruleset as the daemon would (hare run --check).
func Check(path string) (*Config, error) {
	c, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	rs, err := ruleset.LoadFile(c.Ruleset.File)
	if err != nil {
		return c, rulesetFileError(c, err)
	}
	if _, err := engine.CompileWith(rs, compileOptions(&Options{})); err != nil {
		return c, err
	}
	return c, nil
}

// rulesetFileError says which key named a ruleset file that cannot be
// opened; errors inside the file carry its own file:line:col.
func rulesetFileError(c *Config, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == c.Ruleset.File {
		return fmt.Errorf("%s: ruleset.file: %w", c.Path, err)
	}
	return err
}

// compileOptions are the compiler's view of the live system: interface
// names in rules resolve to the indexes they have now, as nft resolves
// them when it loads a rule, and a name no interface has is refused.
func compileOptions(o *Options) engine.Options {
	if o.Ifindex != nil {
		return engine.Options{Ifindex: o.Ifindex}
	}
	return engine.Options{Ifindex: kernelIfindex}
}

// New compiles c's ruleset and builds the connection table; nothing runs
// yet.
func New(c *Config, opt Options) (*Daemon, error) {
	rs, err := ruleset.LoadFile(c.Ruleset.File)
	if err != nil {
		return nil, rulesetFileError(c, err)
	}
	comp, err := engine.CompileWith(rs, compileOptions(&opt))
	if err != nil {
		return nil, err
	}
	lv, _ := ParseLevel(c.Log.Level)
	d := &Daemon{level: new(slog.LevelVar), opt: opt}
	d.level.Set(lv)
	out := opt.LogOutput
	if out == nil {
		out = os.Stderr
	}
	d.log = NewLogger(out, c.Log.Format, d.level)
	d.now = opt.Now
	if d.now == nil {
		d.now = NewClock().Now
	}
	d.cfg.Store(c)
	d.pol.Store(policyOf(c))
	d.events = conntrack.NewEvents()
	d.table = conntrack.NewTable(c.Conntrack, d.events)
	d.eng = engine.New(d.table, comp)
	d.sink = &logSink{log: d.log, now: d.now}
	if c.Log.PcapDir != "" {
		if err := os.MkdirAll(c.Log.PcapDir, 0o750); err != nil {
			return nil, fmt.Errorf("%s: log.pcap_dir: %w", c.Path, err)
		}
		d.sink.pcaps = newPcapGroups(c.Log.PcapDir, c.Log.PcapRotateBytes, c.Log.PcapKeep)
	}
	d.eng.SetLogSink(d.sink.event)
	d.trace = control.NewTraceHub()
	d.Generation.Store(1)
	return d, nil
}

func policyOf(c *Config) *policy {
	return &policy{acceptInvalid: c.Workers.Invalid == "accept", passNonIP: c.Datapath.PassNonIP}
}

// Log returns the daemon's logger.
func (d *Daemon) Log() *slog.Logger { return d.log }

// Config returns the configuration in force.
func (d *Daemon) Config() *Config { return d.cfg.Load() }

// Table returns the connection table.
func (d *Daemon) Table() *conntrack.Table { return d.table }

// Events returns the table's event bus (conntrack -E).
func (d *Daemon) Events() *conntrack.Events { return d.events }

// Engine returns the engine (its ruleset, counters, Apply).
func (d *Daemon) Engine() *engine.Engine { return d.eng }

// Now returns the table clock's time.
func (d *Daemon) Now() int64 { return d.now() }

// Workers returns the workers (their counters); nil before Start.
func (d *Daemon) Workers() []*Worker { return d.workers }

// Datapath returns the open datapath; nil before Start.
func (d *Daemon) Datapath() datapath.Datapath { return d.dp }

// Start opens the datapath and starts one worker per port and the reaper.
func (d *Daemon) Start() error {
	c := d.cfg.Load()
	if d.opt.Open == nil {
		return errors.New("no datapath opener")
	}
	if c.Datapath.Kind == "nfqueue" && c.Workers.Count > 0 {
		d.log.Warn("workers.count is for afpacket; nfqueue has one worker per queue", "queues", c.Datapath.Queues)
	}
	if f := c.State.File; f != "" {
		// Found out now, not when the table is to be saved at stop.
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return fmt.Errorf("%s: state.file: %w", c.Path, err)
		}
	}
	d.restore(c.State.File)
	d.restored = true
	dp, err := d.opt.Open(c, d.log)
	if err != nil {
		return fmt.Errorf("datapath %s: %w", c.Datapath.Kind, err)
	}
	// The workers exist before the control API and the metrics do (they
	// read them); they run once everything is up.
	d.attach(dp)
	if err := d.listenControl(c); err != nil {
		d.detach()
		return fmt.Errorf("control socket: %w", err)
	}
	if err := d.listenMetrics(c); err != nil {
		if d.ctl != nil {
			d.ctl.Close()
			d.ctl = nil
		}
		d.detach()
		return fmt.Errorf("metrics endpoint: %w", err)
	}
	d.run()
	d.log.Info("started", "datapath", dp.Name(), "workers", len(d.workers), "ruleset", c.Ruleset.File,
		"conntrack_max", maxOf(c.Conntrack))
	return nil
}

// restore loads the connection table saved by the last stop, if any. A
// file that cannot be loaded whole (corrupt, truncated, another version,
// too many entries for max) is refused, and loads nothing: it is logged,
// moved aside to FILE.bad for inspection, and the daemon starts with an
// empty table, since a firewall that does not start protects nothing.
func (d *Daemon) restore(path string) {
	if path == "" {
		return
	}
	st, err := d.table.RestoreFile(path, d.now())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.log.Info("no saved connection table", "file", path)
	case err != nil:
		d.log.Error("saved connection table refused; starting with an empty table", "error", err.Error(), "moved_to", path+".bad")
		os.Rename(path, path+".bad")
	default:
		d.log.Info("connection table restored", "file", path, "entries", st.Loaded,
			"expired", st.Expired, "present", st.Present, "saved_at", time.Unix(0, st.SavedAt).UTC())
	}
}

func maxOf(s *conntrack.Settings) int64 { v, _ := s.Get("max"); return v }

// detach undoes attach when Start fails before the workers run.
func (d *Daemon) detach() {
	d.dp.Close()
	d.dp, d.workers = nil, nil
}

// attach makes one worker per port of dp; run starts them.
func (d *Daemon) attach(dp datapath.Datapath) {
	c := d.cfg.Load()
	d.dp = dp
	wc := workerConfig{eng: d.eng, now: d.now, batch: c.Workers.Batch, defrag: defrag.ConfigFrom(c.Conntrack),
		ifDev: devResolver(&d.opt), ifGen: &d.ifGen, pol: &d.pol, trace: d.trace, log: d.log, table: d.table}
	for i, p := range dp.Ports() {
		wc.index = i
		d.workers = append(d.workers, newWorker(p, wc))
	}
}

// run starts the workers and the reaper.
func (d *Daemon) run() {
	c := d.cfg.Load()
	for _, w := range d.workers {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			w.Run(&d.stop)
		}()
	}
	d.reapEnd = make(chan struct{})
	d.wg.Add(2)
	go d.reap(time.Duration(c.Workers.ReapInterval)*time.Millisecond, c.Workers.ReapBudget)
	go d.procFile()
}

// reap removes expired connections in the background, a bounded number of
// slots at a time, as Linux's gc_worker does (nf_conntrack_core.c).
func (d *Daemon) reap(every time.Duration, budget int) {
	defer d.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.reapEnd:
			return
		case <-t.C:
			d.table.Reap(d.now(), budget)
		}
	}
}

// Stop drains the workers (each finishes the batch it holds and hands its
// verdicts back), closes the datapath, which removes what it installed in
// the kernel, and stops the reaper.
func (d *Daemon) Stop() error {
	if d.stopped {
		return nil
	}
	d.stopped = true
	var err error
	if d.ctl != nil {
		// First, so that nothing changes the table or the ruleset
		// while the workers drain and the table is saved.
		err = d.ctl.Close()
	}
	if d.metricsSrv != nil {
		err = errors.Join(err, d.metricsSrv.Close())
	}
	d.stop.Store(true)
	if d.dp != nil {
		// Give the workers a moment to hand back the batches they
		// hold before their port closes under them.
		for i := 0; i < 100 && d.busy(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		err = errors.Join(err, d.dp.Close())
		close(d.reapEnd)
		d.wg.Wait()
		// The drained table's view, the last (procfile.go).
		d.writeProcFile(d.cfg.Load().ProcFile)
	}
	if d.sink.pcaps != nil {
		d.sink.pcaps.close()
	}
	if f := d.cfg.Load().State.File; f != "" && d.restored {
		// Only once Start restored (or found no) saved table: before
		// that, the empty table would overwrite the saved one.
		// After the drain: no packet changes the table any more.
		n, serr := d.table.SaveFile(f, d.now())
		if serr != nil {
			d.log.Error("connection table not saved", "error", serr.Error())
			err = errors.Join(err, serr)
		} else {
			d.log.Info("connection table saved", "file", f, "entries", n)
		}
	}
	var packets uint64
	for _, w := range d.Stats().Workers {
		packets += w.Packets
	}
	d.log.Info("stopped", "packets", packets, "connections", d.table.Len())
	return err
}

// busy reports whether a worker is inside a batch.
func (d *Daemon) busy() bool {
	for _, w := range d.workers {
		if w.inBatch.Load() {
			return true
		}
	}
	return false
}
