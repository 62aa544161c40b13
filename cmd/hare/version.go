package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: hare version")
		return exitUsage
	}
	fmt.Fprintln(stdout, versionString())
	return exitOK
}

// versionString describes the build: the module version (a tag when built
// with `go install …@vX`, "(devel)" from a work tree), the VCS revision and
// whether the tree had uncommitted changes, and the Go toolchain.
func versionString() string {
	version, rev, modified := "(unknown)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	s := "hare " + version
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " " + rev
		if modified {
			s += "+dirty"
		}
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
