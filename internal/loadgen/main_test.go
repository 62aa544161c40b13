package main

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
)

// TestLoadIsValidTraffic: the generated capture has the packets asked for,
// every one decodes cleanly with good checksums, and conntrack finds none
// invalid, so a throughput figure measures the normal path.
func TestLoadIsValidTraffic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "load.pcap")
	const n = 5000
	if err := run(n, 100, path); err != nil {
		t.Fatal(err)
	}
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tab := conntrack.NewTable(nil, nil)
	var p packet.Parsed
	var res conntrack.Result
	pkts := make([]capture.Packet, 64)
	total := 0
	for {
		k, err := r.ReadBatch(pkts)
		for _, cp := range pkts[:k] {
			p.Decode(cp.Data, cp.Link)
			tab.Process(&p, 0, cp.Time, &res)
			if p.Reason != packet.ReasonNone || res.State == conntrack.StateInvalid {
				t.Fatalf("packet %d: decode %v, conntrack %v %v", total+1, p.Reason, res.State, res.Reason)
			}
			total++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != n {
		t.Fatalf("%d packets, want %d", total, n)
	}
}
