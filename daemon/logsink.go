package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// ParseLevel reads a [log] level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: not debug, info, warn or error", s)
}

// NewLogger returns the daemon's operational logger writing to w in the
// configured format, at the level lv holds (which reload may change).
func NewLogger(w io.Writer, format string, lv *slog.LevelVar) *slog.Logger {
	o := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// logSink receives the ruleset's log statements (engine.SetLogSink) from
// every worker at once. A syslog-style log (no group) becomes a slog
// record whose message is the line Linux's nf_log_syslog would write; a
// `log group N` (nfnetlink_log) becomes a debug record, and, with [log]
// pcap_dir, the packet is appended to that group's pcapng file.
//
// Logging allocates (slog records, the line's string); a ruleset that logs
// every packet pays for it, as the kernel pays for printk. The packet
// path without log statements allocates nothing.
type logSink struct {
	log   *slog.Logger
	now   func() int64
	pcaps *pcapGroups // nil: no pcap_dir
	bufs  sync.Pool   // *[]byte for the log line
	lost  atomic.Uint64
}

// syslogLevel maps a log statement's syslog level to slog's.
func syslogLevel(l uint8) slog.Level {
	switch {
	case l <= 3: // emerg, alert, crit, err
		return slog.LevelError
	case l == 4: // warn
		return slog.LevelWarn
	case l <= 6: // notice, info
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func (s *logSink) event(ev *engine.LogEvent) {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	line := ev.AppendText((*bp)[:0])
	lp := ev.Params
	if lp.HasGroup {
		// nfnetlink_log, not syslog: the kernel writes no log line
		// for it, so neither does hare above debug level.
		s.log.Debug("nflog", "group", lp.Group, "line", string(line))
		if s.pcaps != nil {
			data := ev.Packet.IP()
			if lp.Snaplen != 0 && int(lp.Snaplen) < len(data) {
				data = data[:lp.Snaplen]
			}
			if err := s.pcaps.write(lp.Group, s.now(), data, ev.Packet.L3Len); err != nil {
				s.lost.Add(1)
			}
		}
	} else {
		s.log.Log(context.Background(), syslogLevel(lp.Level), "log", "line", string(line))
	}
	*bp = line
	s.bufs.Put(bp)
}

// pcapGroups are the rotating pcapng files of the log groups.
type pcapGroups struct {
	dir    string
	rotate int64 // bytes after which a file is rotated
	keep   int   // rotated files kept per group
	mu     sync.Mutex
	files  map[uint16]*pcapFile
}

type pcapFile struct {
	f    *os.File
	w    *capture.Writer
	size int64
}

func newPcapGroups(dir string, rotate int64, keep int) *pcapGroups {
	return &pcapGroups{dir: dir, rotate: rotate, keep: keep, files: make(map[uint16]*pcapFile)}
}

func (g *pcapGroups) path(group uint16) string {
	return filepath.Join(g.dir, fmt.Sprintf("group-%d.pcapng", group))
}

// write appends one raw IP packet to the group's file, rotating it first
// when it is full.
func (g *pcapGroups) write(group uint16, ts int64, data []byte, origLen int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	pf := g.files[group]
	if pf != nil && pf.size >= g.rotate {
		pf.close()
		delete(g.files, group)
		pf = nil
		g.shift(group)
	}
	if pf == nil {
		var err error
		if pf, err = g.open(group); err != nil {
			return err
		}
		g.files[group] = pf
	}
	if origLen < len(data) {
		origLen = len(data)
	}
	if err := pf.w.WritePacket(0, ts, data, origLen); err != nil {
		return err
	}
	// An Enhanced Packet Block is 32 bytes of header and trailer plus the
	// data padded to 4 bytes.
	pf.size += 32 + int64(len(data)+3)&^3
	// Flushed per packet: a log is for reading while the daemon runs.
	return pf.w.Flush()
}

// open starts (or appends a new section to) the group's current file.
func (g *pcapGroups) open(group uint16) (*pcapFile, error) {
	f, err := os.OpenFile(g.path(group), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	w, err := capture.NewWriter(f)
	if err == nil {
		_, err = w.AddInterface(packet.LinkRaw, 0, fmt.Sprintf("nflog:%d", group))
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &pcapFile{f: f, w: w, size: st.Size()}, nil
}

// shift renames group-N.pcapng to .1, .1 to .2 and so on, dropping the
// file beyond keep (logrotate's scheme).
func (g *pcapGroups) shift(group uint16) {
	p := g.path(group)
	if g.keep == 0 {
		os.Remove(p)
		return
	}
	os.Remove(fmt.Sprintf("%s.%d", p, g.keep))
	for i := g.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", p, i), fmt.Sprintf("%s.%d", p, i+1))
	}
	os.Rename(p, p+".1")
}

func (pf *pcapFile) close() {
	pf.w.Flush()
	pf.f.Close()
}

// close closes every file.
func (g *pcapGroups) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, pf := range g.files {
		pf.close()
		delete(g.files, k)
	}
}
