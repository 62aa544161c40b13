package main

import (
	"strings"
	"testing"
)

// FuzzCtArgs: any command line (arguments separated by NUL) parses or is
// refused with a message, never a panic; one that parses names one of
// conntrack's commands.
func FuzzCtArgs(f *testing.F) {
	for _, s := range []string{
		"-L", "-L\x00-p\x00tcp\x00--dport\x0022", "-G\x00-p\x00icmp\x00-s\x001.2.3.4\x00-d\x001.2.3.5\x00--icmp-type\x008",
		"-E\x00-e\x00NEW\x00-o\x00extended,id", "-D\x00-m\x001/0xff\x00-w\x003", "--dump=x", "-Lconntrack", "-p", "--proto=udp\x00--sport=1",
		"-L\x00-p\x00tcp\x00--state\x00established", "-S\x00-C",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseCt(strings.Split(s, "\x00"))
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty message", s)
			}
			return
		}
		if !strings.ContainsRune("LGDFESChV", rune(a.cmd)) {
			t.Fatalf("%q: command %q", s, a.cmd)
		}
		a.f.Tuple()
	})
}
