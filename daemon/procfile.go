package daemon

import (
	"bufio"
	"os"
	"path/filepath"
	"time"

	"github.com/hare-fw/hare/internal/ctfmt"
)

// procFile keeps [conntrack] proc_file holding the /proc/net/nf_conntrack
// view of the table (ctfmt.WriteProc), for tools that read a path rather
// than ask the control API (`hare proc`): written at start, every
// proc_interval and at stop. The configuration is read at each tick, so a
// reload that sets, moves or clears the file takes effect at the next.
func (d *Daemon) procFile() {
	defer d.wg.Done()
	c := d.cfg.Load()
	d.writeProcFile(c.ProcFile)
	every := c.ProcInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.reapEnd:
			return
		case <-t.C:
			c := d.cfg.Load()
			if c.ProcInterval != every {
				every = c.ProcInterval
				t.Reset(every)
			}
			d.writeProcFile(c.ProcFile)
		}
	}
}

// writeProcFile writes the view to a new file beside path and renames it
// over path, so that a reader sees a whole view, the old or the new.
// Failures are logged: the view is a convenience, the firewall goes on.
func (d *Daemon) writeProcFile(path string) {
	if path == "" {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		d.log.Warn("conntrack proc_file: cannot write", "file", path, "err", err)
		return
	}
	w := bufio.NewWriterSize(f, 64<<10)
	err = ctfmt.WriteProc(w, d.table, d.now())
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		d.log.Warn("conntrack proc_file: cannot write", "file", path, "err", err)
	}
}
