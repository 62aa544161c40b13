package main

import (
	"fmt"
	"strconv"

	"github.com/hare-fw/hare/engine"
)

// Log statements and named objects in `hare replay --rules`.
//
// Every log statement a packet runs prints a line before the packet's
// --packets line: the line Linux's syslog logger writes (nf_log_syslog:
// "PREFIX IN=kor0 OUT= MAC= SRC=… DST=… LEN=…", see engine
// LogEvent.AppendText), after "log: " (with the syslog level) or, for
// `log group N` (nfnetlink_log, which carries the packet rather than a
// line), "nflog group N: " and the same rendering. After the run the
// named counters and quotas are printed the way `nft list counters` and
// `nft list quotas` show them.

var levelNames = [...]string{"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"}

// logSink formats a log event into rr.logs (engine.LogSink).
func (rr *rulesRun) logSink(ev *engine.LogEvent) {
	b := rr.logs
	lp := ev.Params
	if rr.json {
		b = append(b, `{"log":{`...)
		if lp.HasGroup {
			b = append(b, `"group":`...)
			b = strconv.AppendUint(b, uint64(lp.Group), 10)
		} else {
			b = append(b, `"level":"`...)
			b = append(b, levelNames[lp.Level&7]...)
			b = append(b, '"')
		}
		b = append(b, `,"prefix":`...)
		b = strconv.AppendQuote(b, lp.Prefix)
		b = append(b, `,"line":`...)
		n := len(b)
		b = ev.AppendText(b)
		line := string(b[n:])
		b = strconv.AppendQuote(b[:n], line)
		rr.logs = append(b, "}}\n"...)
		return
	}
	if lp.HasGroup {
		b = append(b, "nflog group "...)
		b = strconv.AppendUint(b, uint64(lp.Group), 10)
		b = append(b, ": "...)
	} else {
		b = append(b, "log "...)
		b = append(b, levelNames[lp.Level&7]...)
		b = append(b, ": "...)
	}
	b = ev.AppendText(b)
	rr.logs = append(b, '\n')
}

// flushLogs writes the packet's log lines.
func (rr *rulesRun) flushLogs() {
	if len(rr.logs) > 0 {
		rr.write(rr.logs)
		rr.logs = rr.logs[:0]
	}
}

// objects writes the named counters and quotas after the run.
func (rr *rulesRun) objects() {
	var objs []engine.ObjectValue
	for _, o := range rr.comp.Objects() {
		if o.Kind != "limit" { // no state to show
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 {
		return
	}
	if rr.json {
		rr.write([]byte(`{"objects":[`))
		for i, o := range objs {
			if i > 0 {
				rr.write([]byte{','})
			}
			if o.Kind == "counter" {
				rr.write(fmt.Appendf(nil, `{"kind":"counter","family":%q,"table":%q,"name":%q,"packets":%d,"bytes":%d}`,
					o.Family.String(), o.Table, o.Name, o.Packets, o.Bytes))
			} else {
				rr.write(fmt.Appendf(nil, `{"kind":"quota","family":%q,"table":%q,"name":%q,"bytes":%d,"used":%d,"inv":%t}`,
					o.Family.String(), o.Table, o.Name, o.Quota, o.Used, o.Over))
			}
		}
		rr.write([]byte("]}\n"))
		return
	}
	rr.write([]byte("\nnamed counters and quotas:\n"))
	for i, o := range objs {
		if i == 0 || objs[i-1].Table != o.Table || objs[i-1].Family != o.Family {
			if i > 0 {
				rr.write([]byte("}\n"))
			}
			rr.write(fmt.Appendf(nil, "table %s %s {\n", o.Family, o.Table))
		}
		rr.write(fmt.Appendf(nil, "\t%s %s {\n\t\t", o.Kind, o.Name))
		if o.Kind == "counter" {
			rr.write(fmt.Appendf(nil, "packets %d bytes %d\n", o.Packets, o.Bytes))
		} else {
			// nft's obj_print_data: [over ]N UNIT[ used N UNIT].
			s := ""
			if o.Over {
				s = "over "
			}
			s += nftBytes(o.Quota)
			if o.Used != 0 {
				s += " used " + nftBytes(o.Used)
			}
			rr.write([]byte(s + "\n"))
		}
		rr.write([]byte("\t}\n"))
	}
	rr.write([]byte("}\n"))
}

// nftBytes prints a byte count in the largest unit that divides it, as
// nft's get_rate does.
func nftBytes(n uint64) string {
	units := []string{"bytes", "kbytes", "mbytes"}
	i := 0
	for ; i < len(units)-1 && n != 0 && n%1024 == 0; i++ {
		n /= 1024
	}
	return strconv.FormatUint(n, 10) + " " + units[i]
}
