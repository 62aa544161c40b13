package control

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestUnknownParameter: a parameter an endpoint does not read is refused
// and nothing happens; in particular a misspelt filter on a delete or a
// flush must not act on the whole table.
func TestUnknownParameter(t *testing.T) {
	r := newRig(t, "")
	r.flows()
	before := r.table.Len()
	if before == 0 {
		t.Fatal("no flows to protect")
	}
	ctx := context.Background()
	for _, c := range []struct{ method, path, query string }{
		{"DELETE", "/v1/conntrack", "protocol=tcp"}, // conntrack's word is proto
		{"DELETE", "/v1/conntrack", "proto=tcp&sprt=22"},
		{"POST", "/v1/conntrack/flush", "family=ipv9"},
		{"GET", "/v1/conntrack", "stat=ESTABLISHED"},
		{"GET", "/v1/conntrack/proc", "acct=zz"},
		{"GET", "/v1/ruleset", "tabel=filter"},
	} {
		q, _ := url.ParseQuery(c.query)
		resp, err := r.c.do(ctx, c.method, c.path, q, nil)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s %s?%s: accepted (%s)", c.method, c.path, c.query, resp.Status)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Status != 400 || !strings.HasPrefix(ce.Msg, "unknown parameter ") {
			t.Errorf("%s %s?%s: %v, want 400 unknown parameter", c.method, c.path, c.query, err)
		}
	}
	if n := r.table.Len(); n != before {
		t.Fatalf("%d entries after refused requests, had %d", n, before)
	}
	// The names the client itself sends are all known.
	if got := len(r.list(Filter{}, TextOptions{})); got != before {
		t.Fatalf("list: %d lines, table has %d", got, before)
	}
}
