package control

import (
	"net/http"
	"sort"
	"strings"
)

// The query parameters each endpoint reads. A parameter an endpoint does
// not know is refused rather than ignored: a misspelt filter on DELETE
// /v1/conntrack or a flush would otherwise act on every connection.
var (
	filterParams = []string{"family", "proto", "src", "dst", "reply-src", "reply-dst",
		"sport", "dport", "reply-sport", "reply-dport", "icmp-id", "icmp-type", "icmp-code",
		"state", "mark", "zone", "status"}
	outputParams = []string{"format", "o"}
	tableParams  = join(filterParams, outputParams)
)

func join(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// only wraps h so that a request naming a query parameter outside known
// gets 400 with the names it may use.
func only(known []string, h http.HandlerFunc) http.HandlerFunc {
	set := make(map[string]bool, len(known))
	for _, k := range known {
		set[k] = true
	}
	return func(w http.ResponseWriter, r *http.Request) {
		for k := range r.URL.Query() {
			if !set[k] {
				httpError(w, http.StatusBadRequest, unknownParam(k, known))
				return
			}
		}
		h(w, r)
	}
}

func unknownParam(k string, known []string) string {
	if len(known) == 0 {
		return "unknown parameter " + k + ": this request takes none"
	}
	s := append([]string(nil), known...)
	sort.Strings(s)
	return "unknown parameter " + k + " (known: " + strings.Join(s, ", ") + ")"
}
