package defrag_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
)

// The shared capture corpus and what the Linux kernel made of it
// (../shared/testdata/kernel-reference/README.md).
const (
	sharedPcaps  = "../../shared/testdata/pcaps"
	sharedKernel = "../../shared/testdata/kernel-reference"
)

// kernelRecord is the part of a kernel-reference packets.jsonl line this
// test reads.
type kernelRecord struct {
	N       int      `json:"n"`
	Skipped string   `json:"skipped"`
	Rx      int      `json:"rx"`
	Verdict string   `json:"verdict"`
	Notes   []string `json:"notes"`
	Ct      []struct {
		L3lenSeen int `json:"l3len_seen"`
	} `json:"ct"`
}

// outcome is what became of a packet, in terms both sides can state: held
// by defrag (held, or dropped inside defrag, which the kernel oracle
// cannot tell apart: IPv4 defrag steals both), completed a datagram of
// some length, or passed on as it was.
type outcome struct {
	kind string // "held", "complete", "pass"
	len  int    // for complete: the length conntrack saw
}

func kernelOutcome(k kernelRecord) outcome {
	for _, n := range k.Notes {
		if strings.HasPrefix(n, "completed a reassembly") && len(k.Ct) > 0 {
			return outcome{"complete", k.Ct[0].L3lenSeen}
		}
	}
	if k.Verdict == "held" {
		return outcome{kind: "held"}
	}
	return outcome{kind: "pass"}
}

func ourOutcome(res defrag.Result, out []byte) outcome {
	switch res {
	case defrag.Held, defrag.Dropped:
		return outcome{kind: "held"}
	case defrag.Complete:
		return outcome{"complete", len(out)}
	}
	return outcome{kind: "pass"}
}

// TestKernelCaptures replays every shared capture that has a kernel
// reference through a Reassembler and asserts that it holds, completes (at
// the same reassembled length, l3len_seen) and passes exactly the packets
// the kernel's nf_defrag did. Like the kernel oracle's replay, which ran at
// top speed, nothing times out: the clock advances 1 ns per packet.
// Records the oracle skipped (not IP, cut by the snaplen) or that the
// kernel's IP layer dropped before netfilter are not fed.
func TestKernelCaptures(t *testing.T) {
	dirs, err := os.ReadDir(sharedKernel)
	if err != nil {
		t.Skipf("shared kernel reference absent (%v): skipping the capture replay", err)
	}
	var total, frags, held, completed int
	for _, de := range dirs {
		if !de.IsDir() {
			continue
		}
		name := de.Name()
		pcap := filepath.Join(sharedPcaps, name+".pcap")
		if _, err := os.Stat(pcap); err != nil {
			pcap = filepath.Join(sharedPcaps, name+".pcapng")
		}
		recs := readKernelRecords(t, filepath.Join(sharedKernel, name, "packets.jsonl"))
		t.Run(name, func(t *testing.T) {
			r := defrag.New(defrag.Config{})
			var p packet.Parsed
			i := 0
			for pkt := range readCapture(t, pcap) {
				if i >= len(recs) {
					t.Fatalf("more packets in the capture than the reference's %d", len(recs))
				}
				k := recs[i]
				i++
				if k.Skipped != "" || k.Rx == 0 {
					continue
				}
				p.Decode(pkt.Data, pkt.Link)
				res, out := r.Add(&p, int64(i), 0)
				got, want := ourOutcome(res, out), kernelOutcome(k)
				if got != want {
					t.Errorf("#%d: %v (%v, %v), kernel %v", k.N, got, res, r.DropReason(), want)
				}
				total++
				if want.kind != "pass" || p.Frag.Kind != packet.NotFragment {
					frags++
				}
				switch want.kind {
				case "held":
					held++
				case "complete":
					completed++
				}
			}
			if i != len(recs) {
				t.Errorf("%d packets in the capture, %d in the reference", i, len(recs))
			}
		})
	}
	t.Logf("%d packets compared; %d fragments or fragment headers; the kernel held %d and completed %d", total, frags, held, completed)
}

// TestLoopbackCapture reassembles raw-ipv6_frag_tcp-segment, a TCP segment
// on ::1 in three fragments that the kernel's IP layer dropped before
// netfilter (::1 on a non-loopback device), so the reference says nothing
// about it.
func TestLoopbackCapture(t *testing.T) {
	path := filepath.Join(sharedPcaps, "raw-ipv6_frag_tcp-segment.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared capture absent (%v)", err)
	}
	r := defrag.New(defrag.Config{})
	var res []defrag.Result
	var whole packet.Parsed
	for pkt := range readCapture(t, path) {
		var p packet.Parsed
		p.Decode(pkt.Data, pkt.Link)
		rr, out := r.Add(&p, 0, 0)
		res = append(res, rr)
		if out != nil {
			whole.DecodeIP(out)
		}
	}
	if len(res) != 3 || res[0] != defrag.Held || res[1] != defrag.Held || res[2] != defrag.Complete {
		t.Fatalf("results %v", res)
	}
	if whole.Proto != packet.ProtoTCP || whole.SrcPort != 12345 || whole.DstPort != 8080 || whole.Reason != packet.ReasonNone {
		t.Fatalf("reassembled %v %d>%d (%v)", whole.Proto, whole.SrcPort, whole.DstPort, whole.Reason)
	}
}

func readKernelRecords(t *testing.T, path string) []kernelRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []kernelRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var k kernelRecord
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, k)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// readCapture yields the packets of the capture at path.
func readCapture(t *testing.T, path string) func(func(capture.Packet) bool) {
	return func(yield func(capture.Packet) bool) {
		r, err := capture.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		batch := make([]capture.Packet, 32)
		for {
			n, err := r.ReadBatch(batch)
			for _, pkt := range batch[:n] {
				if !yield(pkt) {
					return
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
