package scenario_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/internal/scenario"
	"github.com/hare-fw/hare/packet"
)

var update = flag.Bool("update", false, "rewrite testdata/scenarios/*.pcapng from the generator")

// dir holds the committed captures and the kernel's answers on them.
const dir = "../../testdata/scenarios"

// refFiles are the files scripts/scenario-oracle.sh keeps per scenario, the
// same as ../shared/testdata/kernel-reference/NAME/.
var refFiles = []string{
	"conntrack-ipv4.txt", "conntrack-ipv6.txt", "events.jsonl", "packets.jsonl",
	"packets.txt", "summary.txt", "sysctl.txt", "table.jsonl",
}

// TestGolden holds the committed captures to what the generator writes,
// byte for byte; -update rewrites them. After an update the kernel
// references are stale: run scripts/scenario-oracle.sh as root.
func TestGolden(t *testing.T) {
	if *update {
		if err := scenario.WriteAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]bool{}
	for _, s := range scenario.All() {
		names[s.Name] = true
		t.Run(s.Name, func(t *testing.T) {
			want, err := scenario.Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, s.Name+".pcapng"))
			if err != nil {
				t.Fatalf("%v (run go test ./internal/scenario -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s.pcapng differs from the generator's output (run go test ./internal/scenario -update, then scripts/scenario-oracle.sh as root)", s.Name)
			}
		})
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".pcapng"); !names[n] {
			t.Errorf("%s belongs to no scenario: delete it and its reference directory", f)
		}
	}
}

// TestDeterministic checks that two calls build the same captures.
func TestDeterministic(t *testing.T) {
	a, b := scenario.All(), scenario.All()
	if len(a) != len(b) {
		t.Fatalf("All returned %d then %d scenarios", len(a), len(b))
	}
	for i := range a {
		ea, err := scenario.Encode(a[i])
		if err != nil {
			t.Fatal(err)
		}
		eb, err := scenario.Encode(b[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ea, eb) {
			t.Errorf("%s: two builds differ", a[i].Name)
		}
	}
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9-]+)+$`)
	rowRE  = regexp.MustCompile(`^(K|TW|REC|FR|LT|LB|EH)-([0-9]{1,2}|I{1,3}|IV)$`)
)

// TestMetadata checks names, docs, rows and frame times.
func TestMetadata(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range scenario.All() {
		if !nameRE.MatchString(s.Name) {
			t.Errorf("name %q: want proto_what-in-words", s.Name)
		}
		if seen[s.Name] {
			t.Errorf("name %q used twice", s.Name)
		}
		seen[s.Name] = true
		if s.Doc == "" {
			t.Errorf("%s: no doc line", s.Name)
		}
		if len(s.Rows) == 0 {
			t.Errorf("%s: covers no requirement row", s.Name)
		}
		for _, r := range s.Rows {
			if !rowRE.MatchString(r) {
				t.Errorf("%s: row %q is not a requirement id", s.Name, r)
			}
		}
		if len(s.Frames) == 0 {
			t.Errorf("%s: no frames", s.Name)
		}
		for i, f := range s.Frames {
			if i > 0 && f.Time <= s.Frames[i-1].Time {
				t.Errorf("%s frame %d: time does not advance", s.Name, i+1)
			}
		}
	}
}

// TestReadme checks that testdata/scenarios/README.md, which records what
// the kernel made of each scenario, names every one.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scenario.All() {
		if !strings.Contains(string(b), "`"+s.Name+"`") {
			t.Errorf("README.md does not describe %s", s.Name)
		}
	}
}

// TestDecode decodes every frame and verifies its checksums: the Reason
// must be the one the scenario built the frame to have, and every frame
// must carry IP with documentation, link-local, multicast or unspecified
// addresses (never loopback, which the kernel drops before conntrack).
func TestDecode(t *testing.T) {
	var p packet.Parsed
	for _, s := range scenario.All() {
		t.Run(s.Name, func(t *testing.T) {
			for i, f := range s.Frames {
				p.Decode(f.Data, f.Link)
				p.VerifyChecksums()
				if p.Reason != f.Want {
					t.Errorf("frame %d: Reason %v, want %v", i+1, p.Reason, f.Want)
				}
				if p.IPVersion == 0 {
					t.Errorf("frame %d: no IP", i+1)
					continue
				}
				for _, a := range []struct {
					name string
					ok   bool
				}{{"source " + p.Src.String(), okAddr(p.Src)}, {"destination " + p.Dst.String(), okAddr(p.Dst)}} {
					if !a.ok {
						t.Errorf("frame %d: %s is not a documentation, link-local or multicast address", i+1, a.name)
					}
				}
			}
		})
	}
}

func okAddr(a netip.Addr) bool {
	if a.IsLoopback() {
		return false
	}
	if a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	s := a.String()
	if a.Is4() {
		for _, p := range []string{"192.0.2.", "198.51.100.", "203.0.113.", "10.99.0."} { // 10.99.0.0/24 only inside GRE
			if strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	}
	return strings.HasPrefix(s, "2001:db8:")
}

// TestRoundTrip reads every encoded capture back with capture.Reader.
func TestRoundTrip(t *testing.T) {
	for _, s := range scenario.All() {
		b, err := scenario.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		r, err := capture.NewReader(bytes.NewReader(b), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		pkts := make([]capture.Packet, 16)
		i := 0
		for {
			n, err := r.ReadBatch(pkts)
			for _, p := range pkts[:n] {
				if i >= len(s.Frames) {
					t.Fatalf("%s: more packets read than written", s.Name)
				}
				f := s.Frames[i]
				if p.Time != f.Time || p.Link != f.Link || !bytes.Equal(p.Data, f.Data) || p.Length != len(f.Data) {
					t.Errorf("%s packet %d: read back differently", s.Name, i+1)
				}
				i++
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
		}
		if i != len(s.Frames) {
			t.Errorf("%s: read %d packets, wrote %d", s.Name, i, len(s.Frames))
		}
	}
}

// TestReferences checks that every scenario has its kernel reference
// directory, with the files the shared kernel-reference keeps, made from
// the committed capture: one record per frame, same times and lengths.
// scripts/scenario-oracle.sh (root) makes them.
func TestReferences(t *testing.T) {
	for _, s := range scenario.All() {
		t.Run(s.Name, func(t *testing.T) {
			ref := filepath.Join(dir, s.Name)
			ents, err := os.ReadDir(ref)
			if err != nil {
				t.Fatalf("%v: run scripts/scenario-oracle.sh %s as root", err, s.Name)
			}
			var got []string
			for _, e := range ents {
				got = append(got, e.Name())
			}
			if !slices.Equal(got, refFiles) {
				t.Errorf("%s holds %v, want %v", ref, got, refFiles)
			}
			if got, want := referenceSettings(t, filepath.Join(ref, "sysctl.txt")), s.Settings; !slices.Equal(got, want) {
				t.Errorf("the reference was made with -s %q, the scenario asks for %q (OPTIONS in scripts/scenario-oracle.sh)", got, want)
			}
			f, err := os.Open(filepath.Join(ref, "packets.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			n := 0
			for sc.Scan() {
				var rec struct {
					N      int     `json:"n"`
					TS     float64 `json:"ts"`
					CapLen int     `json:"caplen"`
				}
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatalf("packets.jsonl line %d: %v", n+1, err)
				}
				if n >= len(s.Frames) {
					t.Fatalf("packets.jsonl has more records than the scenario has frames (%d): stale, rerun the oracle", len(s.Frames))
				}
				fr := s.Frames[n]
				n++
				if rec.N != n || rec.CapLen != len(fr.Data) || math.Abs(rec.TS*1e9-float64(fr.Time)) > 1e3 {
					t.Errorf("packets.jsonl record %d (n=%d ts=%f caplen=%d) does not match frame %d (%d bytes): stale, rerun the oracle",
						n, rec.N, rec.TS, rec.CapLen, n, len(fr.Data))
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if n != len(s.Frames) {
				t.Errorf("packets.jsonl has %d records, the scenario %d frames: stale, rerun the oracle", n, len(s.Frames))
			}
			// Entry ids change with every run: files of one run share them.
			jsonIDs := ctIDs(t, filepath.Join(ref, "packets.jsonl"), jsonID)
			for f, re := range map[string]string{
				"packets.txt": txtID, "table.jsonl": jsonID, "events.jsonl": jsonID,
				"conntrack-ipv4.txt": listID, "conntrack-ipv6.txt": listID,
			} {
				for id := range ctIDs(t, filepath.Join(ref, f), re) {
					if !jsonIDs[id] {
						t.Errorf("%s names entry id %s, which packets.jsonl does not: the files come from different runs", f, id)
					}
				}
			}
		})
	}
}

// Where entry ids appear: JSON "id" fields (ICMP identifiers are
// "icmp_id"), after the ct state in packets.txt, at the end of a conntrack
// -L line.
const (
	jsonID = `"id": (\d+)`
	txtID  = `(?:new|established|related)/(?:original|reply) id=(\d+)`
	listID = `(?m) id=(\d+)$`
)

// ctIDs returns the entry ids the regular expression re (one group) finds
// in the file at path.
func ctIDs(t *testing.T, path, re string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(string(b), -1) {
		ids[m[1]] = true
	}
	return ids
}

// referenceSettings returns the -s settings a reference's sysctl.txt
// records on its "# oracle settings" line, after "-s: ".
func referenceSettings(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "# oracle settings") {
			continue
		}
		if _, after, ok := strings.Cut(line, "; -s: "); ok {
			return strings.Fields(after)
		}
		return nil
	}
	t.Fatalf("%s: no oracle settings line", path)
	return nil
}
