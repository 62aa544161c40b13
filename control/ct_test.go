package control

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestListFilters runs conntrack-style filters against the four flows of
// rig.flows; the expected flows follow from the filters' definitions.
func TestListFilters(t *testing.T) {
	r := newRig(t, "")
	r.flows()
	cases := []struct {
		q    string
		want []string
	}{
		{"", []string{"icmp4", "tcp4", "tcp6", "udp6"}},
		{"proto=6", []string{"tcp4", "tcp6"}},
		{"proto=17", []string{"udp6"}},
		{"family=ipv4", []string{"icmp4", "tcp4"}},
		{"family=ipv6", []string{"tcp6", "udp6"}},
		{"src=10.0.0.1", []string{"icmp4", "tcp4"}},
		{"src=10.0.0.2", nil},
		{"dst=10.0.0.0/24", []string{"icmp4", "tcp4"}},
		{"reply-src=10.0.0.2", []string{"icmp4", "tcp4"}},
		{"reply-dst=fd00::1", []string{"tcp6", "udp6"}},
		{"reply-dst=fd00::2", nil},
		{"proto=6&dport=22", []string{"tcp4"}},
		{"proto=6&sport=40001", []string{"tcp6"}},
		{"proto=6&reply-sport=80", []string{"tcp6"}},
		{"proto=17&reply-dport=5353", []string{"udp6"}},
		{"dport=22", []string{"tcp4"}}, // ports exclude portless protocols
		{"proto=1&icmp-type=8&icmp-id=7", []string{"icmp4"}},
		{"proto=1&icmp-id=8", nil},
		{"proto=6&state=ESTABLISHED", []string{"tcp4", "tcp6"}},
		{"state=SYN_SENT", nil},
		{"mark=0", []string{"icmp4", "tcp4", "tcp6", "udp6"}},
		{"mark=1/0x1", nil},
		{"zone=0", []string{"icmp4", "tcp4", "tcp6", "udp6"}},
		{"zone=1", nil},
		{"status=SEEN_REPLY", []string{"icmp4", "tcp4", "tcp6"}},
		{"status=ASSURED", []string{"tcp4", "tcp6"}},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.q)
		f, err := ParseFilter(q)
		if err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		var got []string
		for _, l := range r.list(f, TextOptions{}) {
			got = append(got, flowName(l))
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.q, got, c.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for _, q := range []string{"family=ipv5", "src=10.0.0.300", "src=10.0.0.1&dst=fd00::1", "family=ipv6&src=10.0.0.1", "mark=x", "proto=bogus", "status=NOPE", "zone=70000",
		"proto=tcp&state=FOO", "proto=sctp&state=SYN_SENT"} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseFilter(v); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
}

// TestFilterValuesRoundTrip: what a client encodes, the server decodes
// to the same filter.
func TestFilterValuesRoundTrip(t *testing.T) {
	for _, q := range []string{
		"family=ipv4&proto=6&src=10.0.0.0/8&dst=10.0.0.2/32&reply-src=10.0.0.2/32&reply-dst=10.0.0.1/32&sport=1&dport=2&reply-sport=3&reply-dport=4&state=ESTABLISHED&mark=16/0xf0&zone=3&status=SEEN_REPLY,ASSURED",
		"proto=1&icmp-type=8&icmp-code=0&icmp-id=7",
	} {
		v, _ := url.ParseQuery(q)
		f, err := ParseFilter(v)
		if err != nil {
			t.Fatal(err)
		}
		g, err := ParseFilter(f.Values())
		if err != nil {
			t.Fatal(err)
		}
		if f.Values().Encode() != g.Values().Encode() {
			t.Errorf("%s: round trip %s != %s", q, f.Values().Encode(), g.Values().Encode())
		}
	}
}

func TestGetDeleteFlush(t *testing.T) {
	r := newRig(t, "")
	r.flows()
	ctx := context.Background()
	q, _ := url.ParseQuery("proto=6&src=10.0.0.2&dst=10.0.0.1&sport=22&dport=40000")
	f, _ := ParseFilter(q)
	line, err := r.c.Get(ctx, &f, TextOptions{}) // by its reply tuple: shown by conntrack as nothing
	if err != nil || line != "" {
		t.Fatalf("get by the reply tuple: %q %v", line, err)
	}
	q2, _ := url.ParseQuery("proto=6&src=10.0.0.1&dst=10.0.0.2&sport=40000&dport=22")
	f2, _ := ParseFilter(q2)
	line, err = r.c.Get(ctx, &f2, TextOptions{})
	if err != nil || flowName(line) != "tcp4" {
		t.Fatalf("get: %q %v", line, err)
	}
	q.Set("dport", "40009")
	f, _ = ParseFilter(q)
	var ce *Error
	if _, err := r.c.Get(ctx, &f, TextOptions{}); !errors.As(err, &ce) || ce.Status != 404 || ce.Msg != "such conntrack doesn't exist" {
		t.Fatalf("get of a missing tuple: %v", err)
	}
	f, _ = ParseFilter(url.Values{"proto": {"6"}})
	if _, err := r.c.Get(ctx, &f, TextOptions{}); !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("get without a tuple: %v", err)
	}

	var deleted []string
	f, _ = ParseFilter(url.Values{"family": {"ipv6"}})
	if err := r.c.Delete(ctx, &f, TextOptions{}, func(l string) error { deleted = append(deleted, flowName(l)); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(deleted)
	if !slices.Equal(deleted, []string{"tcp6", "udp6"}) {
		t.Fatalf("deleted %v", deleted)
	}
	if n := len(r.list(Filter{}, TextOptions{})); n != 2 || r.table.Len() != 2 {
		t.Fatalf("%d entries listed, %d in the table after deleting 2 of 4", n, r.table.Len())
	}
	st, err := r.c.Stats(ctx)
	if err != nil || st.Entries != 2 || st.Max != 262144 || st.Stats.Insert != 4 {
		t.Fatalf("stats %+v %v", st, err)
	}
	n, err := r.c.Flush(ctx)
	if err != nil || n != 2 || r.table.Len() != 0 {
		t.Fatalf("flush: %d %v, %d left", n, err, r.table.Len())
	}
}

// TestListText: the text lines are ctfmt's, with the -o options asked for.
func TestListText(t *testing.T) {
	r := newRig(t, "")
	r.flows()
	f, _ := ParseFilter(url.Values{"proto": {"1"}})
	plain := r.list(f, TextOptions{})
	ext := r.list(f, TextOptions{Extended: true, ID: true})
	if len(plain) != 1 || len(ext) != 1 {
		t.Fatalf("%v %v", plain, ext)
	}
	if !strings.HasPrefix(plain[0], "icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 packets=1 bytes=28 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 packets=1 bytes=28 mark=0 ") {
		t.Errorf("plain: %q", plain[0])
	}
	if !strings.HasPrefix(ext[0], "ipv4     2 "+plain[0][:20]) || !strings.Contains(ext[0], " id=") {
		t.Errorf("extended: %q", ext[0])
	}
	var ce *Error
	err := r.c.lines(context.Background(), "GET", "/v1/conntrack", url.Values{"o": {"xml"}}, func(string) error { return nil })
	if !errors.As(err, &ce) || ce.Status != 400 || ce.Msg != "Bad parameter `xml'" {
		t.Errorf("o=xml: %v", err)
	}
}
