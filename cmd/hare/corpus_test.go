package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is the shared capture corpus, beside the repository (CI has it
// at ../shared).
const corpusDir = "../../../shared/testdata/pcaps"

// manifestCounts parses the tables of MANIFEST.md and returns the "Pkts"
// column by file name. A table counts when its header has a "File" and a
// "Pkts" column; file cells are written `name`.
func manifestCounts(t *testing.T, path string) map[string]uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]uint64{}
	fileCol, pktsCol := -1, -1
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			fileCol, pktsCol = -1, -1 // a table ends at the first other line
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if fileCol < 0 {
			for i, c := range cells {
				switch c {
				case "File":
					fileCol = i
				case "Pkts":
					pktsCol = i
				}
			}
			if pktsCol < 0 {
				fileCol = -1 // not a capture table; check the next header
			}
			continue
		}
		if fileCol >= len(cells) || pktsCol >= len(cells) || strings.HasPrefix(cells[fileCol], "---") {
			continue
		}
		name := strings.Trim(cells[fileCol], "`")
		n, err := strconv.ParseUint(cells[pktsCol], 10, 64)
		if err != nil {
			t.Fatalf("%s: %s: Pkts %q: %v", path, name, cells[pktsCol], err)
		}
		counts[name] = n
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestSharedCorpus replays every capture of the shared corpus and checks
// the packet counts against MANIFEST.md.
func TestSharedCorpus(t *testing.T) {
	manifest := filepath.Join(corpusDir, "MANIFEST.md")
	if _, err := os.Stat(manifest); err != nil {
		t.Skipf("skipping: shared capture corpus not found at %s (it lives in ../shared beside the repository)", corpusDir)
	}
	want := manifestCounts(t, manifest)
	if len(want) == 0 {
		t.Fatalf("no captures listed in %s", manifest)
	}
	var paths []string
	for name := range want {
		paths = append(paths, filepath.Join(corpusDir, name))
	}
	slices.Sort(paths)
	code, r, errOut := replayJSON(t, paths...)
	if code != 0 {
		t.Errorf("hare replay over %d corpus captures: exit %d\n%s", len(paths), code, errOut)
	}
	var total uint64
	for _, f := range r.Files {
		name := filepath.Base(f.Path)
		if f.Error != "" {
			t.Errorf("%s: %s", name, f.Error)
		}
		if f.Packets != want[name] {
			t.Errorf("%s: %d packets, MANIFEST.md says %d", name, f.Packets, want[name])
		}
		total += f.Packets
	}
	if len(r.Files) != len(paths) || r.Packets != total {
		t.Errorf("%d files and %d packets in the summary, want %d files and %d packets", len(r.Files), r.Packets, len(paths), total)
	}
	t.Logf("replayed %d captures, %d packets", len(r.Files), r.Packets)
}
