package main

import (
	"encoding/json"
	"strconv"

	"github.com/hare-fw/hare/control"
)

// appendCtStats appends the table's statistics as conntrack -S prints
// them (one line per CPU from ctnetlink's IPCTNL_MSG_CT_GET_STATS_CPU on
// Linux 6.18: found, invalid, insert, insert_failed, drop, early_drop,
// error, search_restart, clash_resolve, chaintoolong). hare's table keeps
// one set of counters, so it prints one line, cpu=0; it resolves no
// clashes and has no hash chains, so those two are 0.
func appendCtStats(b []byte, st *control.Stats) []byte {
	s := &st.Stats
	b = append(b, "cpu=0   \t"...)
	for _, kv := range []struct {
		k string
		v uint64
	}{
		{"found", s.Found}, {"invalid", s.Invalid}, {"insert", s.Insert}, {"insert_failed", s.InsertFailed},
		{"drop", s.Drop}, {"early_drop", s.EarlyDrop}, {"error", s.Error}, {"search_restart", s.SearchRestart},
		{"clash_resolve", 0}, {"chaintoolong", 0},
	} {
		b = append(b, kv.k...)
		b = append(b, '=')
		b = strconv.AppendUint(b, kv.v, 10)
		b = append(b, ' ')
	}
	return append(b, '\n')
}

func jsonLine(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
