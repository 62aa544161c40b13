package ctfmt

import (
	"io"
	"strconv"

	"github.com/hare-fw/hare/conntrack"
)

// The statistics views: `conntrack -S` and `conntrack -C` as conntrack-tools
// 1.4.7 print them, and /proc/net/stat/nf_conntrack as Linux 6.18 writes it
// (ct_cpu_seq_show). Linux keeps the counters per CPU and prints a line per
// CPU; hare keeps them per shard and prints its totals as one line, for
// "cpu" 0, so that a script summing the lines gets hare's totals. Checked
// against the kernel and conntrack(8) in testdata/procfs/ (proc_test.go).
//
// Counters hare does not have are 0: chaintoolong (its index has no
// chains) and the expectation counters. The columns Linux itself always
// prints as 0 (new, ignore, delete) are 0 here too.

// AppendStatsLine appends the line `conntrack -S` prints for one CPU,
// newline included:
//
//	cpu=0   	found=0 invalid=1 insert=0 insert_failed=0 drop=0 early_drop=0 error=2 search_restart=0 clash_resolve=0 chaintoolong=0
//
// ("cpu=%-4u\t", then each counter the kernel sends in CTA_STATS order as
// "name=%u ").
func AppendStatsLine(b []byte, cpu int, st *conntrack.Stats) []byte {
	b = append(b, "cpu="...)
	n := len(b)
	b = strconv.AppendInt(b, int64(cpu), 10)
	for len(b)-n < 4 {
		b = append(b, ' ')
	}
	b = append(b, '\t')
	for _, f := range []struct {
		name string
		v    uint64
	}{
		{"found", st.Found}, {"invalid", st.Invalid}, {"insert", st.Insert},
		{"insert_failed", st.InsertFailed}, {"drop", st.Drop}, {"early_drop", st.EarlyDrop},
		{"error", st.Error}, {"search_restart", st.SearchRestart},
		{"clash_resolve", st.ClashResolve}, {"chaintoolong", 0},
	} {
		b = append(b, f.name...)
		b = append(b, '=')
		b = strconv.AppendUint(b, f.v, 10)
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// AppendCount appends what `conntrack -C` prints: the number of entries
// and a newline.
func AppendCount(b []byte, entries int) []byte {
	b = strconv.AppendInt(b, int64(entries), 10)
	return append(b, '\n')
}

// procStatHeader is the first line of /proc/net/stat/nf_conntrack.
const procStatHeader = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"

// AppendProcStat appends /proc/net/stat/nf_conntrack: its header, then one
// line of eight-digit hex counters per element of perCPU, each starting
// with the table's entry count (the kernel repeats nf_conntrack_count on
// every line).
func AppendProcStat(b []byte, entries int, perCPU []conntrack.Stats) []byte {
	b = append(b, procStatHeader...)
	for i := range perCPU {
		st := &perCPU[i]
		cols := [...]uint64{
			uint64(entries), st.ClashResolve, st.Found, 0 /* new */, st.Invalid, 0 /* ignore */, 0, /* delete */
			0 /* chainlength */, st.Insert, st.InsertFailed, st.Drop, st.EarlyDrop, st.Error,
			0, 0, 0 /* expect_new, expect_create, expect_delete */, st.SearchRestart,
		}
		for j, v := range cols {
			switch j {
			case 0:
			case 1, 13: // the format has two blanks before clashres and expect_new
				b = append(b, "  "...)
			default:
				b = append(b, ' ')
			}
			b = appendHex8(b, uint32(v))
		}
		b = append(b, '\n')
	}
	return b
}

// appendHex8 appends v as "%08x" (the kernel prints the unsigned int
// counters; larger hare counters wrap as they would).
func appendHex8(b []byte, v uint32) []byte {
	const hex = "0123456789abcdef"
	for s := 28; s >= 0; s -= 4 {
		b = append(b, hex[v>>uint(s)&15])
	}
	return b
}

// WriteProcStat writes /proc/net/stat/nf_conntrack for table t: its totals
// as one line (see the comment at the top of this file).
func WriteProcStat(w io.Writer, t *conntrack.Table) error {
	st := t.Stats()
	_, err := w.Write(AppendProcStat(nil, t.Len(), []conntrack.Stats{st}))
	return err
}
