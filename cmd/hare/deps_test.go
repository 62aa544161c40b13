package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// depsGolden lists the non-standard-library packages linked into hare.
const depsGolden = "../../testdata/hare-deps.golden"

// TestDeps keeps the binary's dependencies deliberate (the house style's
// depaware): a new import, from this module or outside it, fails here
// until testdata/hare-deps.golden is rewritten with -update and the change
// reviewed. Test-only dependencies (gopacket) must never appear.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: runs go list")
	}
	goCmd, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Skipf("skipping: go command not found: %v", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var deps []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			deps = append(deps, l)
		}
	}
	got := strings.Join(deps, "\n") + "\n"
	if *update {
		if err := os.WriteFile(depsGolden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(depsGolden)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./cmd/hare -run TestDeps -update)", err)
	}
	if got != string(want) {
		t.Errorf("hare's dependencies changed; if intended, run: go test ./cmd/hare -run TestDeps -update\n--- got:\n%s--- want:\n%s", got, want)
	}
}
