package engine_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// The kernel differential: every ruleset of testdata/rules-oracle/MANIFEST
// was loaded into the kernel by the kernel oracle (oracle.sh -f) and
// captures replayed through it (scripts/rules-oracle.sh);
// RULESET/pcaps/NAME.ref and RULESET/scenarios/NAME.ref hold the kernel's
// per-packet verdicts, what its rejects sent, and its rule counters. hare
// replays the same captures through the same ruleset and must agree on
// every packet that reached netfilter, every packet a reject sent, and
// every rule counter.

const (
	oracleDir     = "../testdata/rules-oracle"
	sharedDir     = "../../shared/testdata"
	sharedRuleDir = sharedDir + "/rulesets"
)

// captureDirs maps the first element of a reference's capture name to the
// directory of the captures.
var captureDirs = map[string]string{"pcaps": sharedDir + "/pcaps", "scenarios": "../testdata/scenarios"}

// notCompiling lists the rulesets of the MANIFEST that hare cannot compile
// yet, each with the exact error it gives today (file names relative to
// their directory). The test fails when one of them compiles (take it off
// the list: its references are then compared) or fails differently, and
// when a ruleset not listed fails to compile.
var notCompiling = map[string]string{
	// dynamic sets: per-element statements in an update
	"shared/embedded-rpi_default-deny-inet-synflood-icmpv6": "embedded-rpi_default-deny-inet-synflood-icmpv6.nft:46:103: unsupported: statement in update @syn_flood4 (per-element limit, quota or counter)",
	// meters
	"shared/game-host_ddos-meters-dynsets": "game-host_ddos-meters-dynsets.nft:79:53: unsupported: *ruleset.MeterStmt",
	// rt ipsec
	"shared/libreswan_ipsec-only-policy": "libreswan_ipsec-only-policy.nft:12:3: unsupported: selector rt ipsec",
	// ct helper set
	"shared/nftables-upstream-example_ct-helpers": "nftables-upstream-example_ct-helpers.nft:36:16: unsupported: ct helper set (conntrack helpers and their expectations are not modelled)",
	// tproxy
	"shared/pep-proxy_pepsal-tproxy-ctmark": "pep-proxy_pepsal-tproxy-ctmark.nft:5:37: unsupported: *ruleset.TproxyStmt",
	// payload set statements (ip dscp set)
	"shared/wikimedia_base-glob-includes-notrack": "wikimedia_base-glob-includes-notrack.nft:42:24: unsupported: set statement ip dscp",
}

// knownDifferences are captures (CAPTURE: under every ruleset, or
// RULESET/CAPTURE) on which hare differs from the kernel, understood and by
// design (DIFFERENCES.md), or found and not fixed yet: their disagreements
// are logged, not failures, and the test fails if one of them stops
// differing (then take it off the list).
var knownDifferences = map[string]string{
	// atomic-frag: Linux nf_ct_frag6_gather adds an IPv6 atomic fragment
	// to a pending queue with the same identification and holds it; hare
	// processes it alone, as RFC 6946 §4 (FR-11) requires
	"scenarios/ipv6_frag_atomic-fragment_pending-queue": "atomic-frag",
	// dccp-reject4: the kernel (6.18) sends no ICMP error when it rejects
	// an IPv4 DCCP packet (records 1-9, rule "reject with icmpx
	// admin-prohibited"), but sends the ICMPv6 error for the same packets
	// over IPv6 (10-18); hare sends both. Checksums are right; cause not
	// found yet (DCCP left Linux in 6.16: nf_reject_verify_csum?)
	"reject/scenarios/dccp_request-response": "dccp-reject4",
	// pkttype-tun: the oracle's TUN device has no link layer, so every
	// packet is PACKET_HOST there (kernel-oracle README); hare derives
	// multicast from the destination as an Ethernet host's
	// eth_type_trans would (mDNS to 224.0.0.251, records 1, 3, 114,
	// accepted by `udp dport 5353 pkttype multicast`)
	"shared/dshield-honeypot_add-rule-commands/pcaps/mixed_wikipedia_http-dns-mdns_ipv4-ipv6": "pkttype-tun",
}

type manifestEntry struct {
	name string // as in the MANIFEST: NAME or shared/PATH
	path string // the ruleset file
}

func readManifest(t *testing.T) []manifestEntry {
	var out []manifestEntry
	for _, l := range strings.Split(readText(t, filepath.Join(oracleDir, "MANIFEST")), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		e := manifestEntry{name: f[0], path: filepath.Join(oracleDir, f[0]+".nft")}
		if p, ok := strings.CutPrefix(f[0], "shared/"); ok {
			e.path = filepath.Join(sharedRuleDir, p+".nft")
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		t.Fatal("no rulesets in " + oracleDir + "/MANIFEST")
	}
	return out
}

// oracleTotals counts what was compared.
type oracleTotals struct {
	rulesets, compiled, runs int
	packets, agree           int
	emitted, emittedAgree    int
	counters, countersAgree  int
	logs                     int            // nflog messages compared
	known                    int            // disagreements on knownDifferences captures
	knownSeen                map[string]int // per capture
}

func TestKernelOracle(t *testing.T) {
	tot := oracleTotals{knownSeen: map[string]int{}}
	baseline := readText(t, filepath.Join(oracleDir, "sysctl.txt"))
	inManifest := map[string]bool{}
	sharedMissing := false
	for _, e := range readManifest(t) {
		inManifest[e.name] = true
		if strings.HasPrefix(e.name, "shared/") {
			if _, err := os.Stat(sharedRuleDir); err != nil {
				sharedMissing = true
				continue
			}
		}
		tot.rulesets++
		_, err := compileRuleset(e.path)
		msg := ""
		if err != nil {
			msg = strings.TrimPrefix(err.Error(), filepath.Dir(e.path)+"/")
		}
		if want, listed := notCompiling[e.name]; listed {
			switch {
			case err == nil:
				t.Errorf("%s compiles now: take it off notCompiling so that its references are compared", e.name)
			case msg != want:
				t.Errorf("%s: compile error changed:\n  now  %s\n  list %s", e.name, msg, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s does not compile: %s (a ruleset that cannot compile yet goes in notCompiling with its error)", e.name, msg)
			continue
		}
		tot.compiled++
		for _, ref := range refFiles(t, filepath.Join(oracleDir, e.name)) {
			capName := strings.TrimSuffix(ref, ".ref")
			t.Run(e.name+"/"+capName, func(t *testing.T) {
				capPath := findCapture(t, capName)
				run := readRef(t, filepath.Join(oracleDir, e.name, ref), baseline)
				compareRun(t, e.name, e.path, run, capPath, capName, &tot)
			})
		}
	}
	for name := range notCompiling {
		if !inManifest[name] {
			t.Errorf("notCompiling lists %s, which is not in the MANIFEST", name)
		}
	}
	legacyRuns(t, inManifest, &tot)
	for c, why := range knownDifferences {
		if n, ok := tot.knownSeen[c]; ok && n == 0 {
			t.Errorf("%s agrees with the kernel now: take it off knownDifferences (%s)", c, why)
		}
	}
	t.Logf("kernel oracle: %d/%d rulesets compile (%d in notCompiling); %d runs; %d/%d packets agree, %d/%d emitted packets agree, %d/%d rule counters and named objects agree, %d nflog messages compared (%d known differences)",
		tot.compiled, tot.rulesets, len(notCompiling), tot.runs, tot.agree, tot.packets, tot.emittedAgree, tot.emitted, tot.countersAgree, tot.counters, tot.logs, tot.known)
	if sharedMissing {
		t.Logf("the shared rulesets were skipped: %s not found", sharedRuleDir)
	}
}

// refFiles lists a ruleset's references (pcaps/NAME.ref, scenarios/NAME.ref).
func refFiles(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ref") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		t.Errorf("no references in %s (scripts/rules-oracle.sh writes them): %v", dir, err)
	}
	sort.Strings(out)
	return out
}

// legacyRuns compares the rulesets outside the MANIFEST whose references
// are directories of the oracle's files (RULESET/CAPTURE/packets.jsonl),
// the form these references had before scripts/rules-oracle.sh.
func legacyRuns(t *testing.T, inManifest map[string]bool, tot *oracleTotals) {
	rulesets, _ := filepath.Glob(filepath.Join(oracleDir, "*.nft"))
	for _, rsPath := range rulesets {
		name := strings.TrimSuffix(filepath.Base(rsPath), ".nft")
		if inManifest[name] {
			continue
		}
		runs, _ := filepath.Glob(filepath.Join(oracleDir, name, "*", "packets.jsonl"))
		if len(runs) == 0 {
			t.Errorf("%s is neither in the MANIFEST nor has references", rsPath)
		}
		tot.rulesets++
		if _, err := compileRuleset(rsPath); err != nil {
			t.Errorf("%s: %v", rsPath, err)
			continue
		}
		tot.compiled++
		for _, r := range runs {
			dir := filepath.Dir(r)
			capName := filepath.Base(dir)
			t.Run(name+"/"+capName, func(t *testing.T) {
				compareRun(t, name, rsPath, readLegacy(t, dir), findCapture(t, capName), capName, tot)
			})
		}
	}
}

// findCapture finds DIR/NAME (a reference's name) or, for the legacy
// references, a bare NAME in the shared corpus and then the scenarios.
func findCapture(t *testing.T, name string) string {
	dirs := []string{captureDirs["pcaps"], captureDirs["scenarios"]}
	if d, n, ok := strings.Cut(name, "/"); ok {
		dirs, name = []string{captureDirs[d]}, n
	}
	for _, d := range dirs {
		for _, ext := range []string{".pcap", ".pcapng"} {
			p := filepath.Join(d, name+ext)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	// The scenarios are in the repository; only the shared corpus may be
	// absent (it lives in ../shared beside the repository).
	if _, err := os.Stat(captureDirs["pcaps"]); err != nil {
		t.Skipf("skipping: capture %s is in the shared corpus, not found at %s", name, captureDirs["pcaps"])
	}
	t.Fatalf("capture %s not found in %v", name, dirs)
	return ""
}

func compileRuleset(path string) (*engine.Compiled, error) {
	f, err := ruleset.ParseFile(path)
	if err != nil {
		return nil, err
	}
	rs, err := ruleset.Build(f)
	if err != nil {
		return nil, err
	}
	return engine.Compile(rs)
}

func compareRun(t *testing.T, rsName, rsPath string, kernel *kernelRun, capPath, capName string, tot *oracleTotals) {
	comp, err := compileRuleset(rsPath)
	if err != nil {
		t.Fatal(err)
	}
	tot.runs++
	differ := t.Errorf
	key := capName
	if _, ok := knownDifferences[key]; !ok {
		key = rsName + "/" + capName
	}
	if why, ok := knownDifferences[key]; ok {
		tot.knownSeen[key] += 0
		differ = func(format string, args ...any) {
			tot.known++
			tot.knownSeen[key]++
			t.Logf("known difference "+why+": "+format, args...)
		}
	}
	var (
		eng     *engine.Engine
		tab     *conntrack.Table
		cur     kernelPacket
		curN    uint64
		meta    = engine.Meta{Iifname: engine.IfName("kor0")}
		res     engine.Result
		emitted []string // what hare's reject sent for the current packet
		buf     []byte
	)
	tr := &report.Tracker{Settings: kernel.settings, Clock: report.ClockFrozen}
	tr.Skip = func(_ string, n uint64) bool {
		cur, curN = kernel.packets[n], n
		return !cur.compared()
	}
	tr.Filter = func(ct *conntrack.Table, p *packet.Parsed, now int64, out *conntrack.Result) {
		if ct != tab {
			tab, eng = ct, engine.New(ct, comp)
			eng.SetLogSink(kernel.logs.sink) // oracle_objects_test.go
		}
		// hare has no routing table: the oracle's routing drops (source
		// 0.0.0.0 to unicast, destination 0.0.0.0, broadcast or multicast
		// source: ip_route_input_slow) are taken from the kernel
		meta.NoRoute = cur.DroppedAt == "routing"
		eng.Packet(p, &meta, now, &res)
		*out = res.CT
		emitted = emitted[:0]
		if res.Verdict == engine.Reject && !oracleCannotReply(p) {
			if buf = engine.BuildReject(buf[:0], p, res.Reject); len(buf) > 0 {
				emitted = append(emitted, oracleView(summarizeIP(buf, 0)))
			}
		}
	}
	tr.OnPacket = func(pr *report.PacketResult) {
		k := kernel.packets[pr.N]
		if !k.compared() {
			return
		}
		if pr.N != curN {
			t.Fatalf("packet %d judged while %d was current", pr.N, curN)
		}
		kernel.logs.check(t, pr.N)
		var got string
		switch pr.Outcome {
		case report.OutcomeHeld, report.OutcomeFragDropped:
			// The oracle cannot tell a fragment defrag keeps from one it
			// discards (an overlap, ip_frag_queue / nf_ct_frag6_queue):
			// neither reaches conntrack nor the end of PREROUTING, and
			// both are "held" in its records (replay.py classify).
			got = "held"
			res = engine.Result{}
		case report.OutcomeNotIP:
			got = "dropped"
			res = engine.Result{}
		case report.OutcomeTracked:
			got = map[engine.Verdict]string{engine.Accept: "accepted", engine.Drop: "dropped", engine.Reject: "rejected"}[res.Verdict]
		}
		// The oracle calls a packet rejected when the kernel sent
		// something back while dropping it: a reject that sends nothing
		// (an ICMP error, a multicast destination...) is a drop there.
		if got != "rejected" {
			emitted = emitted[:0]
		} else if len(emitted) == 0 {
			got = "dropped"
		}
		tot.packets++
		if got == k.Verdict {
			tot.agree++
		} else {
			differ("packet %d: hare %s (%s %s %s/%s rule %d, ct %s), kernel %s at %s",
				pr.N, got, res.By, res.Hook, res.Table, res.Chain, res.Rule, pr.State, k.Verdict, k.DroppedAt)
		}
		if kernel.emitted == nil {
			return // a reference that did not keep what the kernel sent
		}
		want := kernel.emitted[pr.N]
		for i := range max(len(want), len(emitted)) {
			tot.emitted++
			w, g := "(nothing)", "(nothing)"
			if i < len(want) {
				w = want[i]
			}
			if i < len(emitted) {
				g = emitted[i]
			}
			if w == g {
				tot.emittedAgree++
			} else {
				differ("packet %d: reject sent\n  hare   %s\n  kernel %s", pr.N, g, w)
			}
		}
	}
	s := &report.Summary{Track: tr}
	r, err := capture.Open(capPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Replay(r, capPath, 0, nil); err != nil {
		t.Fatal(err)
	}

	got, want := comp.Counters(), kernel.counters
	if len(got) != len(want) {
		differ("%d rule counters, kernel has %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		tot.counters++
		g, w := got[i], want[i]
		if g.Family.String() == w.Family && g.Table == w.Table && g.Chain == w.Chain && g.Handle == w.Handle &&
			g.Packets == w.Packets && g.Bytes == w.Bytes {
			tot.countersAgree++
			continue
		}
		differ("counter %s %s %s handle %d: hare %d packets %d bytes; kernel (%s %s %s handle %d) %d packets %d bytes",
			g.Family, g.Table, g.Chain, g.Handle, g.Packets, g.Bytes, w.Family, w.Table, w.Chain, w.Handle, w.Packets, w.Bytes)
	}
	// named counters and quotas count as counters
	on, oa := compareObjects(t, comp, kernel.objects)
	tot.counters, tot.countersAgree = tot.counters+on, tot.countersAgree+oa
	tot.logs += kernel.logs.events
}

// oracleCannotReply reports whether the oracle's namespace cannot send
// anything back to p's source: kor0 has no address at all (kernel-oracle
// README, "How it works" 1), so a reply to an IPv6 link-local address,
// which must leave through kor0 with a link-local source, finds no source
// address and is never sent (no kernel reference holds one). A host with
// addresses would send it, and hare builds it.
func oracleCannotReply(p *packet.Parsed) bool {
	return p.IPVersion == 6 && p.Src.IsLinkLocalUnicast()
}

// oracleView rewrites what hare's reject sends as the oracle's namespace
// would show it: an ICMPv6 error leaves from ::1 there, because the
// rejected packet's destination is local only through the oracle's AnyIP
// route, not an address of the interface, so icmp6_send takes lo's
// address (kernel-oracle README, "With a ruleset"). hare answers from the
// rejected packet's destination, as a host that owns the address does.
func oracleView(s string) string {
	if rest, ok := strings.CutPrefix(s, "IPv6 ICMPV6 "); ok {
		if _, after, ok := strings.Cut(rest, " > "); ok {
			return "IPv6 ICMPV6 ::1 > " + after
		}
	}
	return s
}
