package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/internal/ctfmt"
	"github.com/hare-fw/hare/internal/report"
)

// settings builds the conntrack settings the flags ask for: the profile,
// then every --set and --max-entries in command-line order.
func (f *replayFlags) settings() (*conntrack.Settings, error) {
	s := conntrack.DefaultSettings()
	if f.profile == "rfc" {
		s = conntrack.RFCSettings()
	}
	for i, kv := range f.sets {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--set %q: want name=value", kv)
		}
		if err := s.Set(name, value); err != nil {
			return nil, fmt.Errorf("%s: %w", f.setFlags[i], err)
		}
	}
	return s, nil
}

// tracker returns the replay's tracking stage, configured from the flags.
func (f *replayFlags) tracker() (*report.Tracker, error) {
	s, err := f.settings()
	if err != nil {
		return nil, err
	}
	tr := &report.Tracker{Settings: s, Profile: f.profile, Set: f.sets}
	if f.clock == "frozen" {
		tr.Clock = report.ClockFrozen
	}
	return tr, nil
}

// helpSettings prints --help-settings: every setting, its values in the
// two profiles and what it does.
func helpSettings(w io.Writer) {
	rfc := conntrack.RFCSettings()
	var b strings.Builder
	b.WriteString(`Connection tracking settings (hare replay --set NAME=VALUE).

Names are Linux's net.netfilter.nf_conntrack_* sysctls without the prefix
(the prefixed names are accepted too), with the same units: timeouts in
seconds, sizes in bytes or entries, switches 0 or 1. LINUX is the default
(Linux 6.18's value, except acct and timestamp, which hare turns on); RFC is
the value of --profile rfc.

`)
	names := conntrack.SettingNames()
	width := len("NAME")
	for _, n := range names {
		width = max(width, len(n))
	}
	fmt.Fprintf(&b, "%-*s  %8s  %8s  %s\n", width, "NAME", "LINUX", "RFC", "WHAT IT DOES")
	for _, n := range names {
		doc, linux, _ := conntrack.SettingDoc(n)
		r, _ := rfc.Get(n)
		if doc == "" {
			doc = settingDocFallback(n)
		}
		fmt.Fprintf(&b, "%-*s  %8d  %8d  %s\n", width, n, linux, r, doc)
	}
	io.WriteString(w, b.String())
}

// settingDocFallback describes the timeouts that carry no doc of their own:
// "tcp_timeout_syn_sent" is the timeout of TCP entries in SYN_SENT.
func settingDocFallback(name string) string {
	switch name {
	case "tcp_timeout_max_retrans":
		return "seconds a TCP entry lives after tcp_max_retrans retransmissions of a segment"
	case "tcp_timeout_unacknowledged":
		return "seconds a TCP entry lives while data is unacknowledged"
	}
	proto, state, ok := strings.Cut(name, "_timeout_")
	if !ok {
		return ""
	}
	doc := fmt.Sprintf("seconds a %s entry in state %s lives without a packet", strings.ToUpper(proto), strings.ToUpper(state))
	if proto == "dccp" {
		doc += " (no effect yet: DCCP is tracked as a generic protocol, as by Linux 6.16 and later)"
	}
	return doc
}

// ctOutput writes --packets, --events and --table as the replay goes.
type ctOutput struct {
	w     io.Writer
	json  bool
	multi bool // several captures: a header before each one's lines
	any   bool // some output was asked for
	opts  ctfmt.Options
	buf   []byte
	err   error // the first write error
}

// newCTOutput hooks the outputs the flags ask for into tr.
func newCTOutput(f *replayFlags, tr *report.Tracker, w io.Writer, multi bool) *ctOutput {
	o := &ctOutput{w: w, json: f.output == "json", multi: multi, any: f.table || f.events || f.packets}
	acct, _ := tr.Settings.Get("acct")
	stamps, _ := tr.Settings.Get("timestamp")
	o.opts = ctfmt.Options{
		Extended:   true,
		Timestamp:  true,
		ID:         strings.Contains(","+f.ctOutput+",", ",id,"),
		KTimestamp: strings.Contains(","+f.ctOutput+",", ",ktimestamp,"),
		Acct:       acct != 0,
		Stamps:     stamps != 0,
	}
	if f.packets {
		tr.OnPacket = o.packet
	}
	if f.events {
		tr.OnEvent = o.event
	}
	if f.table {
		tr.OnEnd = o.table
	}
	return o
}

// begin notes the capture about to be replayed; its header is written
// before its first line.
func (o *ctOutput) begin(path string) {
	if !o.any || !o.multi {
		return
	}
	h := "# " + path
	if o.json {
		b, _ := json.Marshal(map[string]string{"file": path})
		h = string(b)
	}
	o.write([]byte(h + "\n"))
}

func (o *ctOutput) write(b []byte) {
	if o.err == nil {
		_, o.err = o.w.Write(b)
	}
}

func (o *ctOutput) packet(r *report.PacketResult) {
	if o.json {
		o.buf = r.AppendJSON(o.buf[:0])
	} else {
		o.buf = r.AppendText(o.buf[:0])
	}
	o.write(append(o.buf, '\n'))
}

func (o *ctOutput) event(ev *conntrack.Event, pkt uint64) {
	if o.json {
		b, err := json.Marshal(ctfmt.EventJSON(ev, pkt, o.opts))
		if err != nil {
			o.err = cmp.Or(o.err, err)
			return
		}
		o.write(append(b, '\n'))
		return
	}
	o.buf = ctfmt.AppendEvent(o.buf[:0], ev, o.opts)
	o.write(append(o.buf, '\n'))
}

// table writes the final table, oldest entry (lowest id) first.
func (o *ctOutput) table(_ string, t *conntrack.Table, now int64) {
	var entries []conntrack.Entry
	t.Range(func(e *conntrack.Entry) bool {
		entries = append(entries, *e)
		return true
	})
	slices.SortFunc(entries, func(a, b conntrack.Entry) int { return cmp.Compare(a.ID, b.ID) })
	if o.json {
		o.write([]byte("["))
		for i := range entries {
			b, err := json.Marshal(ctfmt.EntryJSON(&entries[i], now, o.opts))
			if err != nil {
				o.err = cmp.Or(o.err, err)
				return
			}
			if i > 0 {
				o.write([]byte(","))
			}
			o.write(append([]byte("\n"), b...))
		}
		o.write([]byte("\n]\n"))
		return
	}
	opts := o.opts
	opts.Timestamp = false
	for i := range entries {
		o.buf = ctfmt.AppendEntry(o.buf[:0], &entries[i], now, opts)
		o.write(append(o.buf, '\n'))
	}
}
