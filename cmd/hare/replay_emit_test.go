package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
)

// TestReplayEmit: --emit writes one decodable, correctly checksummed
// reply per rejected packet that Linux would answer.
func TestReplayEmit(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rej.nft")
	out := filepath.Join(dir, "rej.pcapng")
	err := os.WriteFile(rules, []byte(`table inet f {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp flags & syn == syn reject with tcp reset
		meta l4proto udp reject
		meta l4proto icmp reject with icmpx type admin-prohibited
	}
}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if rc := runReplay([]string{"--rules", rules, "--emit", out, "--packets", "../../testdata/sample.pcapng"}, &stdout, &stderr); rc != exitOK {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	rejected := bytes.Count(stdout.Bytes(), []byte("|| reject by"))
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := capture.NewReader(f, out)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]capture.Packet, 16)
	var n int
	var p packet.Parsed
	for {
		k, err := r.ReadBatch(pkts)
		for _, c := range pkts[:k] {
			n++
			p.DecodeIP(c.Data)
			if p.Reason != packet.ReasonNone || p.VerifyChecksums() != packet.ReasonNone {
				t.Errorf("emitted packet %d: %v", n, p.Reason)
			}
			if !(p.Proto == packet.ProtoTCP && p.TCP.Flags&packet.TCPRst != 0) && !p.ICMP.IsError {
				t.Errorf("emitted packet %d is neither a RST nor an ICMP error", n)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || n > rejected {
		t.Fatalf("%d packets emitted for %d rejected", n, rejected)
	}
	t.Logf("%d rejected, %d emitted", rejected, n)
}
