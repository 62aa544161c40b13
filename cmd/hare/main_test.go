package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// hare runs the command in-process and returns its exit status and output.
func hare(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// replayJSON runs `hare replay -o json args...` and decodes its output.
func replayJSON(t *testing.T, args ...string) (int, *report.Result, string) {
	t.Helper()
	code, out, errOut := hare(t, append([]string{"replay", "-o", "json"}, args...)...)
	var r report.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("hare replay -o json %v: output is not JSON: %v\n%s\nstderr: %s", args, err, out, errOut)
	}
	return code, &r, errOut
}

func TestExitStatus(t *testing.T) {
	sample := writeTemp(t, "s.pcapng", writeCapture(t, packettest.Sample()))
	tests := []struct {
		name   string
		args   []string
		want   int
		stdout string // substring expected on stdout
		stderr string // substring expected on stderr
	}{
		{name: "no command", args: nil, want: 2, stderr: "Usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, want: 2, stderr: `unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, want: 0, stdout: "replay"},
		{name: "--help", args: []string{"--help"}, want: 0, stdout: "Commands:"},
		{name: "help replay", args: []string{"help", "replay"}, want: 0, stdout: "Usage: hare replay"},
		{name: "help version", args: []string{"help", "version"}, want: 0, stdout: "Usage: hare version"},
		{name: "help unknown", args: []string{"help", "nope"}, want: 2, stderr: "unknown command"},
		{name: "version", args: []string{"version"}, want: 0, stdout: "hare "},
		{name: "version extra arg", args: []string{"version", "x"}, want: 2, stderr: "usage"},
		{name: "replay no files", args: []string{"replay"}, want: 2, stderr: "no capture given"},
		{name: "replay unknown flag", args: []string{"replay", "--frob", sample}, want: 2, stderr: "flag provided but not defined: -frob"},
		{name: "replay bad output", args: []string{"replay", "-o", "xml", sample}, want: 2, stderr: `-o "xml"`},
		{name: "replay bad batch", args: []string{"replay", "--batch", "0", sample}, want: 2, stderr: "--batch 0"},
		{name: "replay bad progress", args: []string{"replay", "--progress", "maybe", sample}, want: 2, stderr: "--progress"},
		{name: "replay --help", args: []string{"replay", "--help"}, want: 0, stdout: "Usage: hare replay"},
		{name: "replay -h after file", args: []string{"replay", sample, "-h"}, want: 0, stdout: "Usage: hare replay"},
		{name: "replay ok", args: []string{"replay", sample}, want: 0, stdout: "LINK TYPE"},
		{name: "replay flags after file", args: []string{"replay", sample, "-o", "json"}, want: 0, stdout: `"packets"`},
		{name: "replay missing file", args: []string{"replay", filepath.Join(t.TempDir(), "nope.pcap")}, want: 1, stderr: "nope.pcap: no such file"},
		{name: "replay good and missing", args: []string{"replay", sample, "/nonexistent/x.pcap"}, want: 1, stderr: "hare: /nonexistent/x.pcap: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := hare(t, tt.args...)
			if code != tt.want {
				t.Errorf("hare %q: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.want, out, errOut)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("hare %q: stdout lacks %q:\n%s", tt.args, tt.stdout, out)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("hare %q: stderr lacks %q:\n%s", tt.args, tt.stderr, errOut)
			}
			if tt.want == 0 && errOut != "" {
				t.Errorf("hare %q: exit 0 with stderr output:\n%s", tt.args, errOut)
			}
		})
	}
}

// TestReplayHelpListsEveryFlag checks that `hare replay --help` documents
// every flag the command accepts.
func TestReplayHelpListsEveryFlag(t *testing.T) {
	_, help, _ := hare(t, "replay", "--help")
	fs := newReplayFlagSet(new(replayFlags))
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		re := regexp.MustCompile(`(?m)^  -{1,2}` + regexp.QuoteMeta(f.Name) + `\b`)
		if !re.MatchString(help) {
			t.Errorf("replay --help does not document flag -%s", f.Name)
		}
		if !strings.Contains(help, "hare replay -"+f.Name) && !strings.Contains(help, "hare replay --"+f.Name) {
			t.Errorf("replay --help has no example using -%s", f.Name)
		}
	})
	if n == 0 {
		t.Fatal("no flags defined")
	}
}

// TestReplayCountsAgree checks the JSON output against an independent
// count of the same capture by walkPcapng.
func TestReplayCountsAgree(t *testing.T) {
	b := writeCapture(t, packettest.Sample())
	path := writeTemp(t, "sample.pcapng", b)
	recs := walkPcapng(t, b)
	if len(recs) == 0 {
		t.Fatal("walkPcapng found no packets in the sample")
	}
	var wire, captured uint64
	links := map[string]uint64{}
	for _, r := range recs {
		wire += uint64(r.wire)
		captured += uint64(r.capLen)
		links[r.link.String()]++
	}

	for _, checksum := range []bool{false, true} {
		t.Run(fmt.Sprintf("checksum=%v", checksum), func(t *testing.T) {
			args := []string{path}
			if checksum {
				args = append(args, "--checksum")
			}
			code, r, errOut := replayJSON(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, errOut)
			}
			if r.Packets != uint64(len(recs)) || r.Bytes != wire || r.CapturedBytes != captured {
				t.Errorf("packets, bytes, captured = %d, %d, %d; want %d, %d, %d", r.Packets, r.Bytes, r.CapturedBytes, len(recs), wire, captured)
			}
			if len(r.Files) != 1 || r.Files[0].Packets != r.Packets || r.Files[0].Format != "pcapng" || r.Files[0].Error != "" {
				t.Errorf("files = %+v", r.Files)
			}
			gotLinks := map[string]uint64{}
			for _, l := range r.LinkTypes {
				gotLinks[l.Name] += l.Packets
			}
			if fmt.Sprint(gotLinks) != fmt.Sprint(links) {
				t.Errorf("link types = %v, want %v", gotLinks, links)
			}
			// Every packet lands in exactly one network row.
			var net, netBytes uint64
			for _, n := range r.Network {
				net += n.Packets
				netBytes += n.Bytes
			}
			if net != r.Packets || netBytes != r.Bytes {
				t.Errorf("network rows add up to %d packets %d bytes, want %d %d", net, netBytes, r.Packets, r.Bytes)
			}
			// Transport rows count IP packets, which the network table
			// has under IPv4 and IPv6.
			var ip, l4 uint64
			for _, n := range r.Network {
				if n.Name == "IPv4" || n.Name == "IPv6" {
					ip += n.Packets
				}
			}
			for _, p := range r.Transport {
				l4 += p.Packets
			}
			if l4 > ip {
				t.Errorf("transport rows count %d packets, more than the %d IP packets", l4, ip)
			}
			if r.ChecksumsVerified != checksum {
				t.Errorf("checksums_verified = %v, want %v", r.ChecksumsVerified, checksum)
			}
			if !checksum && len(r.ChecksumProblems) != 0 {
				t.Errorf("checksum problems without --checksum: %+v", r.ChecksumProblems)
			}
		})
	}
}

// TestReplayTextMatchesJSON checks that the text output shows the totals
// the JSON output has.
func TestReplayTextMatchesJSON(t *testing.T) {
	path := writeTemp(t, "sample.pcapng", writeCapture(t, packettest.Sample()))
	_, r, _ := replayJSON(t, path)
	code, out, errOut := hare(t, "replay", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := fmt.Sprintf("1 capture, %d packets, %d bytes", r.Packets, r.Bytes)
	if !strings.Contains(out, want) {
		t.Errorf("text output lacks %q:\n%s", want, out)
	}
	for _, p := range r.Transport {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p.Name) + `\b.*\b` + strconv.FormatUint(p.Packets, 10) + `\b`).MatchString(out) {
			t.Errorf("text output lacks a transport row %s %d:\n%s", p.Name, p.Packets, out)
		}
	}
}

// TestReplayTruncated cuts the sample capture inside its last packet and
// checks that replay summarises the good part, names the file and the byte
// offset of the damage on stderr, and exits 1.
func TestReplayTruncated(t *testing.T) {
	b := writeCapture(t, packettest.Sample())
	recs := walkPcapng(t, b)
	if len(recs) < 2 {
		t.Fatalf("sample has %d packets, need 2", len(recs))
	}
	goodEnd := recs[len(recs)-2].end // end of the last complete packet
	cut := b[:len(b)-3]              // inside the last packet's block
	path := writeTemp(t, "cut.pcapng", cut)

	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			code, out, errOut := hare(t, "replay", "-o", output, path)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstderr: %s", code, errOut)
			}
			m := regexp.MustCompile(`(?m)^hare: ` + regexp.QuoteMeta(path) + `: byte (\d+): \S.*$`).FindStringSubmatch(errOut)
			if m == nil {
				t.Fatalf("stderr does not say `hare: %s: byte N: ...`:\n%s", path, errOut)
			}
			off, _ := strconv.Atoi(m[1])
			if off < goodEnd || off > len(cut) {
				t.Errorf("error at byte %d, want between %d (end of the last good packet) and %d (end of file)", off, goodEnd, len(cut))
			}
			var good uint64 = uint64(len(recs) - 1)
			if output == "json" {
				var r report.Result
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("output is not JSON: %v\n%s", err, out)
				}
				if r.Packets != good {
					t.Errorf("packets = %d, want the %d before the damage", r.Packets, good)
				}
				if len(r.Files) != 1 || !strings.HasPrefix(r.Files[0].Error, "byte "+m[1]+": ") {
					t.Errorf("files = %+v, want one with error at byte %s", r.Files, m[1])
				}
			} else if want := fmt.Sprintf("%d packets", good); !strings.Contains(out, want) {
				t.Errorf("summary lacks %q:\n%s", want, out)
			}
		})
	}
}

// TestReplayCorrupt checks files that are not captures at all.
func TestReplayCorrupt(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("this is not a capture file, just some text\n")},
		{"zeros", make([]byte, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, tt.name+".pcap", tt.data)
			code, r, errOut := replayJSON(t, path)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.HasPrefix(errOut, "hare: "+path+": ") {
				t.Errorf("stderr = %q, want it to start with hare: %s: ", errOut, path)
			}
			if r.Packets != 0 || len(r.Files) != 1 || r.Files[0].Error == "" {
				t.Errorf("result = %+v", r)
			}
		})
	}
}

// TestReplayGolden compares the output for the committed sample capture,
// run from the repository root as the README does, with
// testdata/replay-sample.{txt,json}.golden. -update rewrites them.
func TestReplayGolden(t *testing.T) {
	t.Chdir("../..")
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			code, out, errOut := hare(t, "replay", "-o", output, "--checksum", "testdata/sample.pcapng")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			ext := map[string]string{"text": "txt", "json": "json"}[output]
			golden := "testdata/replay-sample." + ext + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (create it with: go test ./cmd/hare -run TestReplayGolden -update)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s; if the change is intended, run: go test ./cmd/hare -run 'TestSampleCapture|TestReplayGolden' -update\n--- got:\n%s\n--- want:\n%s", golden, out, want)
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args   []string
		files  []string
		output string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, "text"},
		{[]string{"-o", "json", "a"}, []string{"a"}, "json"},
		{[]string{"a", "-o", "json", "b"}, []string{"a", "b"}, "json"},
		{[]string{"a", "--", "-o", "json"}, []string{"a", "-o", "json"}, "text"},
		{[]string{"--", "-x"}, []string{"-x"}, "text"},
		{nil, nil, "text"},
	}
	for _, tt := range tests {
		var f replayFlags
		files, err := parseInterspersed(newReplayFlagSet(&f), tt.args)
		if err != nil {
			t.Errorf("parse %q: %v", tt.args, err)
			continue
		}
		if fmt.Sprint(files) != fmt.Sprint(tt.files) || f.output != tt.output {
			t.Errorf("parse %q = files %q, -o %q; want %q, %q", tt.args, files, f.output, tt.files, tt.output)
		}
	}
}

// TestProgress drives the progress line with a fake clock.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	p := &progress{w: &buf, enabled: true, now: func() time.Time { return now }}

	p.start("dir/big.pcap", 4<<20)
	p.update(1 << 20)
	if buf.Len() != 0 {
		t.Fatalf("progress drawn before %v: %q", progressDelay, buf.String())
	}
	now = now.Add(2 * time.Second)
	p.update(2 << 20)
	if got := buf.String(); !strings.Contains(got, "\rhare: big.pcap: 2.0 MiB of 4.0 MiB (50%)") {
		t.Errorf("progress line = %q", got)
	}
	n := buf.Len()
	now = now.Add(progressEvery / 2)
	p.update(3 << 20)
	if buf.Len() != n {
		t.Errorf("progress redrawn within %v: %q", progressEvery, buf.String()[n:])
	}
	p.done()
	if !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Errorf("progress line not erased: %q", buf.String())
	}

	// A capture read within the delay leaves nothing behind.
	buf.Reset()
	p.start("quick.pcap", 100)
	p.update(100)
	p.done()
	if buf.Len() != 0 {
		t.Errorf("quick capture wrote %q", buf.String())
	}

	// Disabled (stderr not a terminal): nothing at all.
	q := newProgress(&buf, "auto")
	q.now = p.now
	q.start("x", 1)
	now = now.Add(time.Hour)
	q.update(1)
	q.done()
	if buf.Len() != 0 {
		t.Errorf("progress on a non-terminal wrote %q", buf.String())
	}
}

// TestReplayUnsupportedLink checks that pcapng packets on an interface of a
// link type the decoder does not know are counted and skipped, not fatal.
func TestReplayUnsupportedLink(t *testing.T) {
	frames := packettest.Sample()[:3]
	const wifi = packet.LinkType(105) // IEEE 802.11: not decoded by package packet
	for i := range frames[:2] {
		frames = append(frames, packettest.Frame{Time: frames[i].Time + 1, Link: wifi, Data: []byte{0x08, 0x02, 0, 0}})
	}
	path := writeTemp(t, "wifi.pcapng", writeCapture(t, frames))
	code, r, errOut := replayJSON(t, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if r.Packets != uint64(len(frames)) || r.Files[0].Packets != uint64(len(frames)) {
		t.Errorf("packets = %d, file packets = %d, want %d", r.Packets, r.Files[0].Packets, len(frames))
	}
	var wifiRow, problem uint64
	for _, l := range r.LinkTypes {
		if l.LinkType == uint16(wifi) {
			wifiRow = l.Packets
		}
	}
	for _, p := range r.DecodeProblems {
		if p.Reason == packet.ReasonUnsupportedLink.String() {
			problem = p.Packets
		}
	}
	if wifiRow != 2 || problem != 2 {
		t.Errorf("802.11 link row %d, unsupported-link problems %d; want 2 and 2\nlink types %+v\nproblems %+v", wifiRow, problem, r.LinkTypes, r.DecodeProblems)
	}
}
