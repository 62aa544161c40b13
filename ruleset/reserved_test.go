package ruleset

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestReservedNamesNft: nft 1.0.6 itself (nft -c in a network namespace)
// and the parser agree, for every word of reservedNames and
// objectReserved and for ordinary words and narrower-scope keywords
// (saddr, input, rate…), on whether it can name a chain, be a jump or
// vmap target, or name each kind of object with extra reserved words;
// when both refuse, on the first error's line, column and message.
func TestReservedNamesNft(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil || os.Geteuid() != 0 {
		t.Skip("skipping: needs nft and root")
	}
	ns := fmt.Sprintf("hare-rsv%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: no network namespace: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })

	ordinary := strings.Fields(`foo lan wan0 input output forward prerouting postrouting filter nat raw
		mangle saddr daddr sport dport state status zone rate over until used burst helper protocol
		l3proto ingress egress vxlan geneve gre ports allowed_v4 fw x1`)
	var base []string
	for w := range reservedNames {
		base = append(base, w)
	}
	sort.Strings(base)
	type probe struct{ src, word string }
	var probes []probe
	add := func(format string, words []string) {
		for _, w := range words {
			probes = append(probes, probe{fmt.Sprintf(format, w, w), w})
		}
	}
	all := append(append([]string{}, base...), ordinary...)
	add("table inet t {\n\tchain %s {\n\t}\n}\n# %s\n", all)
	add("table inet t {\n\tchain \"%s\" {\n\t}\n}\n# %s\n", []string{"foo", "fwd", "input"})
	add("table inet t {\n\tchain c {\n\t\tjump %s\n\t}\n\tchain %s {\n\t}\n}\n", all)
	add("table inet t {\n\tchain c {\n\t\ttcp dport vmap { 22 : goto %s }\n\t}\n\tchain %s {\n\t}\n}\n", all)
	bodies := map[string]string{"counter": "", "quota": "\t\t25 mbytes\n", "limit": "\t\trate 400/minute\n",
		"ct helper": "\t\ttype \"ftp\" protocol tcp\n"}
	for kind, body := range bodies {
		words := append(append([]string{"counter", "fwd", "meta"}, objectReserved[kind]...), ordinary...)
		add("table inet t {\n\t"+kind+" %s {\n"+body+"\t}\n}\n# %s\n", words)
	}

	dir := t.TempDir()
	nftErr := regexp.MustCompile(`^[^:]*:(\d+):(\d+)-\d+: Error: (.*)$`)
	type result struct{ nft, hare string }
	results := make([]result, len(probes))
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				pr := probes[i]
				path := filepath.Join(dir, fmt.Sprintf("p%d.nft", i))
				if err := os.WriteFile(path, []byte(pr.src), 0o644); err != nil {
					t.Error(err)
					continue
				}
				out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-c", "-f", path).CombinedOutput()
				r := result{nft: "ok", hare: "ok"}
				if err != nil {
					first, _, _ := strings.Cut(string(out), "\n")
					m := nftErr.FindStringSubmatch(first)
					if m == nil {
						r.nft = "unparsed: " + first
					} else {
						r.nft = m[1] + ":" + m[2] + ": " + m[3]
					}
				}
				if _, err := Parse("p.nft", []byte(pr.src), Config{}); err != nil {
					var pe *Error
					if errors.As(err, &pe) {
						r.hare = fmt.Sprintf("%d:%d: %s", pe.Line, pe.Col, pe.Msg)
					} else {
						r.hare = err.Error()
					}
				}
				results[i] = r
			}
		}()
	}
	for i := range probes {
		work <- i
	}
	close(work)
	wg.Wait()
	refused := 0
	for i, r := range results {
		if r.nft != r.hare {
			t.Errorf("%q: nft %q, hare %q\n%s", probes[i].word, r.nft, r.hare, probes[i].src)
		}
		if r.nft != "ok" {
			refused++
		}
	}
	t.Logf("%d names in %d positions: nft and hare agree (%d refused)", len(probes), 4+len(bodies), refused)
}
