package main

// The differential test against Linux: every capture of the shared corpus
// is replayed through `hare replay --clock frozen` (in-process, through
// the same code as the command line, output parsed from its JSON) and
// compared with what the kernel's conntrack made of it
// (../shared/testdata/kernel-reference/NAME/, recorded by the kernel
// oracle on Linux 6.18): per packet the ct state, the direction and the
// entry (ids joined by their order of first appearance), and the final
// table entry by entry (joined on the original tuple): reply tuple, TCP
// state, status bits, window scales and TCP flags, packets and bytes per
// direction, and the seconds left (the kernel's may be one less: its
// replay took a fraction of a second).
//
// Every difference must be fixed or listed in knownDifferences with its
// reason (mirrored in DIFFERENCES.md); any other one fails the test. With
// -v it prints each capture's agreement, its first known differences
// (all of them with HARE_DIFF_ALL=1 in the environment) and a final table.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/internal/ctfmt"
)

// referenceDir holds the kernel's outputs, one directory per capture of
// corpusDir.
const referenceDir = "../../../shared/testdata/kernel-reference"

// kernelPacket is one record of a reference's packets.jsonl.
type kernelPacket struct {
	N         uint64   `json:"n"`
	Skipped   string   `json:"skipped"`
	RX        int      `json:"rx"`
	Pkt       string   `json:"pkt"`
	KernelLog []string `json:"kernel_log"`
	Notes     []string `json:"notes"`
	CT        []struct {
		State      string `json:"state"`
		Dir        string `json:"dir"`
		ID         uint32 `json:"id"`
		L3LenSeen  int    `json:"l3len_seen"`
		PacketSeen string `json:"packet_seen"`
	} `json:"ct"`
	Events []struct {
		Event string `json:"event"`
		ID    uint32 `json:"id"`
	} `json:"events"`
}

// compared reports whether the kernel's conntrack saw the record: it was
// replayed (not skipped as non-IP or cut by the snaplen) and reached
// netfilter (rx 1; ip_rcv/ip6_rcv drop some packets before it).
func (k *kernelPacket) compared() bool { return k.Skipped == "" && k.RX > 0 }

// state is the kernel's ct state, "held" for a fragment defrag kept.
func (k *kernelPacket) state() string {
	if len(k.CT) == 0 {
		return "held"
	}
	return k.CT[0].State
}

// hareLine is one line of `hare replay -o json --packets`.
type hareLine struct {
	N      uint64 `json:"n"`
	State  string `json:"state"`
	Dir    string `json:"dir"`
	ID     uint32 `json:"id"`
	Reason string `json:"reason"`
	L3Len  int    `json:"l3len"`
}

// eventRec is one event, in the kernel's events.jsonl and in hare's
// `--events -o json` lines alike.
type eventRec struct {
	Event  string      `json:"event"`
	Packet *uint64     `json:"packet"`
	CT     ctfmt.Entry `json:"ct"`
}

// mismatch is one disagreement between hare and the kernel.
type mismatch struct {
	capture string
	packet  *kernelPacket // for a packet mismatch
	entry   *ctfmt.Entry  // the kernel's entry (nil when only hare has it)
	hareEnt *ctfmt.Entry  // hare's entry (nil when only the kernel has it)
	event   int           // for an event mismatch: its index among the packet's events, from 1
	evType  string        // and the kernel's event type
	field   string        // state, dir, id; missing, extra, reply, state, status, counters, timeout, tcp_flags, wscale
	kernel  string
	hare    string
	known   *knownDifference
}

func (m *mismatch) String() string {
	if m.packet != nil {
		what := "packet"
		if m.event > 0 {
			what = fmt.Sprintf("event %d of packet", m.event)
		}
		s := fmt.Sprintf("%s #%d %s: kernel %s, hare %s (%s)", what, m.packet.N, m.field, m.kernel, m.hare, m.packet.Pkt)
		if len(m.packet.KernelLog) > 0 {
			s += " [kernel: " + strings.Join(m.packet.KernelLog, "; ") + "]"
		}
		return s
	}
	e := m.entry
	if e == nil {
		e = m.hareEnt
	}
	return fmt.Sprintf("entry %s %s: kernel %s, hare %s", entryName(e), m.field, m.kernel, m.hare)
}

// knownDifference is a difference between hare and Linux that is
// understood and documented in DIFFERENCES.md.
type knownDifference struct {
	name   string
	reason string
	match  func(c *captureRun, m *mismatch) bool
}

// captureRun is one capture's comparison.
type captureRun struct {
	name      string
	refDir    string // the kernel's outputs for this capture
	kernel    []kernelPacket
	ktable    []ctfmt.Entry
	hare      map[uint64]hareLine
	htable    []ctfmt.Entry
	packets   int // packets compared
	pktAgree  int
	entries   int // entries compared (kernel's plus hare's extra ones)
	entAgree  int
	kevents   []eventRec
	hevents   []eventRec
	events    int // events compared (kernel's plus hare's extra ones)
	evAgree   int
	mismatch  []*mismatch
	excluded  int // records the kernel never tracked
	checksum0 bool
}

// knownDifferences are the understood differences, each with its reason
// (DIFFERENCES.md says more). A mismatch matching none fails the test.
var knownDifferences = []*knownDifference{
	{
		name: "atomic-frag",
		reason: "Linux nf_ct_frag6_gather adds an IPv6 atomic fragment (offset 0, M clear) to a pending queue with the same " +
			"identification and holds it (requirements trap 4); hare processes it alone as RFC 6946 §4 (FR-11) and issue 3 require",
		match: func(c *captureRun, m *mismatch) bool {
			return c.name == "ipv6_frag_atomic-fragment_pending-queue"
		},
	},
}

// sysctlSettings reads a reference's sysctl.txt: the conntrack settings
// hare knows (as --set arguments), and whether the oracle corrected IPv4
// header checksums (-C).
func sysctlSettings(t *testing.T, path string) (sets []string, fixedIPv4 bool, checksum0 bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			fixedIPv4 = fixedIPv4 || strings.Contains(l, "(-C)")
			continue
		}
		name, value, ok := strings.Cut(l, " = ")
		if !ok || !strings.HasPrefix(name, "net.netfilter.nf_conntrack_") && name != "net.ipv4.ipfrag_time" {
			continue
		}
		if _, _, known := conntrack.SettingDoc(name); !known {
			continue
		}
		sets = append(sets, "--set", name+"="+value)
		if name == "net.netfilter.nf_conntrack_checksum" && value == "0" {
			checksum0 = true
		}
	}
	return sets, fixedIPv4, checksum0
}

func readJSONLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// replayCapture runs hare on one capture as the reference was made, and
// reads its per-packet lines and final table.
func replayCapture(t *testing.T, c *captureRun, path string) {
	t.Helper()
	sets, fixedIPv4, checksum0 := sysctlSettings(t, filepath.Join(c.refDir, "sysctl.txt"))
	if fixedIPv4 && !checksum0 {
		// hare verifies the IPv4 header checksum with the other
		// checksums (checksum=1); there is no switch for it alone.
		t.Fatalf("%s: -C with nf_conntrack_checksum=1: hare cannot replay this setup", c.name)
	}
	c.checksum0 = checksum0
	skip := map[uint64]bool{}
	for i := range c.kernel {
		if k := &c.kernel[i]; !k.compared() {
			skip[k.N] = true
			c.excluded++
		}
	}
	args := append([]string{"--clock", "frozen", "-o", "json", "--packets", "--events", "--table", "--progress", "never"}, sets...)
	args = append(args, path)
	var out, errOut bytes.Buffer
	code := runReplayWith(args, &out, &errOut, func(_ string, n uint64) bool { return skip[n] })
	if code != 0 {
		t.Fatalf("hare %s: exit %d\n%s", strings.Join(args, " "), code, errOut.String())
	}
	c.hare = map[uint64]hareLine{}
	dec := json.NewDecoder(&out)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: hare's output: %v", c.name, err)
		}
		if raw[0] == '[' {
			if err := json.Unmarshal(raw, &c.htable); err != nil {
				t.Fatalf("%s: hare's table: %v", c.name, err)
			}
			continue
		}
		if bytes.HasPrefix(raw, []byte(`{"event"`)) {
			var ev eventRec
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("%s: hare's event: %v", c.name, err)
			}
			c.hevents = append(c.hevents, ev)
			continue
		}
		var l hareLine
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("%s: hare's packet line: %v", c.name, err)
		}
		c.hare[l.N] = l
	}
}

// comparePackets compares every packet the kernel tracked.
func comparePackets(c *captureRun) {
	k2h, h2k := map[uint32]uint32{}, map[uint32]uint32{}
	for i := range c.kernel {
		k := &c.kernel[i]
		if !k.compared() {
			continue
		}
		c.packets++
		h, ok := c.hare[k.N]
		var ms []*mismatch
		add := func(field, kv, hv string) {
			ms = append(ms, &mismatch{capture: c.name, packet: k, field: field, kernel: kv, hare: hv})
		}
		switch {
		case !ok:
			add("state", k.state(), "no line")
		case k.state() == "held" && h.State == "frag-dropped":
			// The kernel's record cannot tell a fragment held from one
			// dropped by defrag: both stop there (ct list empty).
		case k.state() != h.State:
			hv := h.State
			if h.Reason != "" {
				hv += " (" + h.Reason + ")"
			}
			if h.Dir != "" {
				hv += "/" + h.Dir
			}
			kv := k.state()
			if len(k.CT) > 0 && k.CT[0].Dir != "" {
				kv += "/" + k.CT[0].Dir
			}
			add("state", kv, hv)
		case len(k.CT) > 0 && k.CT[0].Dir != "" && k.CT[0].Dir != h.Dir:
			add("dir", k.CT[0].Dir, h.Dir)
		}
		// A kernel id is a hash of the entry's address: an entry made after
		// another was destroyed (a TCP reopen) can get the same address,
		// and so the same id. A destroyed entry's id is free again.
		for _, ev := range k.Events {
			if ev.Event == "DESTROY" {
				delete(h2k, k2h[ev.ID])
				delete(k2h, ev.ID)
			}
		}
		if ok && len(k.CT) > 0 && (k.CT[0].ID != 0 || h.ID != 0) && len(ms) == 0 {
			kid, hid := k.CT[0].ID, h.ID
			switch {
			case kid == 0 || hid == 0:
				add("id", idText(kid, "kernel"), idText(hid, "hare"))
			case k2h[kid] == 0 && h2k[hid] == 0:
				k2h[kid], h2k[hid] = hid, kid
			case k2h[kid] != hid:
				add("id", fmt.Sprintf("entry first seen with kernel id %d", kid), fmt.Sprintf("hare id %d (joined to kernel id %d)", hid, h2k[hid]))
			}
		}
		if len(k.CT) > 1 {
			add("state", fmt.Sprintf("%d ct results", len(k.CT)), "1")
		}
		if len(ms) == 0 {
			c.pktAgree++
		}
		c.mismatch = append(c.mismatch, ms...)
	}
}

func idText(id uint32, who string) string {
	if id == 0 {
		return "no entry id"
	}
	return fmt.Sprintf("%s id %d", who, id)
}

// tupleKey is the join key of an entry: family, protocol, original tuple.
func tupleKey(e *ctfmt.Entry) string {
	return e.Family + " " + tupleText(&e.Orig)
}

func tupleText(t *ctfmt.Tuple) string {
	s := fmt.Sprintf("%d %s>%s", t.Proto, t.Src, t.Dst)
	if t.SPort != nil {
		s += fmt.Sprintf(" sport=%d dport=%d", *t.SPort, *t.DPort)
	}
	if t.Type != nil {
		s += fmt.Sprintf(" type=%d code=%d id=%d", *t.Type, *t.Code, *t.ICMPID)
	}
	return s
}

func entryName(e *ctfmt.Entry) string {
	return e.Proto + " " + tupleText(&e.Orig)
}

func deref[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// compareTables compares the final tables, entry by entry.
func compareTables(c *captureRun) {
	hare := map[string]*ctfmt.Entry{}
	for i := range c.htable {
		hare[tupleKey(&c.htable[i])] = &c.htable[i]
	}
	seen := map[string]bool{}
	for i := range c.ktable {
		k := &c.ktable[i]
		key := tupleKey(k)
		seen[key] = true
		c.entries++
		h := hare[key]
		var ms []*mismatch
		add := func(field, kv, hv string) {
			ms = append(ms, &mismatch{capture: c.name, entry: k, hareEnt: h, field: field, kernel: kv, hare: hv})
		}
		if h == nil {
			add("missing", "has it", "has no entry with this original tuple")
			c.mismatch = append(c.mismatch, ms...)
			continue
		}
		if a, b := tupleText(&k.Reply), tupleText(&h.Reply); a != b {
			add("reply", a, b)
		}
		if k.State != h.State {
			add("state", k.State, h.State)
		}
		if a, b := strings.Join(k.Status, ","), strings.Join(h.Status, ","); a != b {
			add("status", a, b)
		}
		if a, b := deref(k.CountersOrig), deref(h.CountersOrig); a != b {
			add("counters", fmt.Sprintf("orig %dp/%dB", a.Packets, a.Bytes), fmt.Sprintf("orig %dp/%dB", b.Packets, b.Bytes))
		}
		if a, b := deref(k.CountersReply), deref(h.CountersReply); a != b {
			add("counters", fmt.Sprintf("reply %dp/%dB", a.Packets, a.Bytes), fmt.Sprintf("reply %dp/%dB", b.Packets, b.Bytes))
		}
		if kt, ht := deref(k.Timeout), deref(h.Timeout); kt != ht && kt != ht-1 {
			add("timeout", strconv.FormatInt(kt, 10), strconv.FormatInt(ht, 10))
		}
		if k.Proto == "tcp" {
			if a, b := fmt.Sprint(deref(k.WScaleOrig), deref(k.WScaleReply)), fmt.Sprint(deref(h.WScaleOrig), deref(h.WScaleReply)); a != b {
				add("wscale", a, b)
			}
			a := fmt.Sprint(deref(k.TCPFlagsOrig), deref(k.TCPFlagsReply))
			b := fmt.Sprint(deref(h.TCPFlagsOrig), deref(h.TCPFlagsReply))
			if a != b {
				add("tcp_flags", a, b)
			}
		}
		if len(ms) == 0 {
			c.entAgree++
		}
		c.mismatch = append(c.mismatch, ms...)
	}
	for i := range c.htable {
		h := &c.htable[i]
		if !seen[tupleKey(h)] {
			c.entries++
			c.mismatch = append(c.mismatch, &mismatch{capture: c.name, hareEnt: h, field: "extra", kernel: "has no entry with this original tuple", hare: "has it"})
		}
	}
}

// compareEvents compares the events each packet caused: their order and
// types, the entry's tuple, status bits, protocol state, timeout (the
// kernel's may be a second less) and, in DESTROY events, the counters.
func compareEvents(c *captureRun) {
	group := func(evs []eventRec) map[uint64][]*eventRec {
		m := map[uint64][]*eventRec{}
		for i := range evs {
			m[deref(evs[i].Packet)] = append(m[deref(evs[i].Packet)], &evs[i])
		}
		return m
	}
	kg, hg := group(c.kevents), group(c.hevents)
	byN := map[uint64]*kernelPacket{}
	for i := range c.kernel {
		byN[c.kernel[i].N] = &c.kernel[i]
	}
	var ns []uint64
	for n := range kg {
		ns = append(ns, n)
	}
	for n := range hg {
		if kg[n] == nil {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	for _, n := range ns {
		k, h := kg[n], hg[n]
		rec := byN[n]
		if rec == nil {
			rec = &kernelPacket{N: n, Pkt: "between packets"}
		}
		for i := range max(len(k), len(h)) {
			c.events++
			var ms []*mismatch
			add := func(field, kv, hv string) {
				m := &mismatch{capture: c.name, packet: rec, event: i + 1, field: field, kernel: kv, hare: hv}
				if i < len(k) {
					m.evType = k[i].Event
				}
				ms = append(ms, m)
			}
			switch {
			case i >= len(k):
				add("event", "none", h[i].Event+" "+eventText(h[i]))
			case i >= len(h):
				add("event", k[i].Event+" "+eventText(k[i]), "none")
			default:
				ke, he := k[i], h[i]
				if ke.Event != he.Event || tupleKey(&ke.CT) != tupleKey(&he.CT) {
					add("event", ke.Event+" "+tupleKey(&ke.CT), he.Event+" "+tupleKey(&he.CT))
					break
				}
				if a, b := strings.Join(ke.CT.Status, ","), strings.Join(he.CT.Status, ","); a != b {
					add("event status", a, b)
				}
				if ke.CT.State != he.CT.State {
					add("event state", cmpText(ke.CT.State), cmpText(he.CT.State))
				}
				if kt, ht := ke.CT.Timeout, he.CT.Timeout; (kt == nil) != (ht == nil) || kt != nil && *kt != *ht && *kt != *ht-1 {
					add("event timeout", ptrText(kt), ptrText(ht))
				}
				if ke.CT.CountersOrig != nil && (he.CT.CountersOrig == nil || *ke.CT.CountersOrig != *he.CT.CountersOrig || *ke.CT.CountersReply != *he.CT.CountersReply) {
					add("event counters", fmt.Sprint(*ke.CT.CountersOrig, *ke.CT.CountersReply), fmt.Sprint(he.CT.CountersOrig, he.CT.CountersReply))
				}
			}
			if len(ms) == 0 {
				c.evAgree++
			}
			c.mismatch = append(c.mismatch, ms...)
		}
	}
}

func eventText(e *eventRec) string {
	return fmt.Sprintf("%s %s %s", tupleKey(&e.CT), e.CT.State, strings.Join(e.CT.Status, ","))
}

func cmpText(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func ptrText(p *int64) string {
	if p == nil {
		return "(none)"
	}
	return strconv.FormatInt(*p, 10)
}

// TestDefaultSettingsMatchKernel checks conntrack.DefaultSettings against
// the sysctls the kernel reference was recorded with, in the captures run
// with the oracle's defaults (no -s): the namespace's per-namespace
// defaults, plus what the oracle sets (acct, timestamp, events, which hare
// has on by default too, and log_invalid).
func TestDefaultSettingsMatchKernel(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(referenceDir, "*", "sysctl.txt"))
	if len(paths) == 0 {
		t.Skipf("skipping: kernel reference not found at %s", referenceDir)
	}
	def := conntrack.DefaultSettings()
	checked := 0
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "-s: ") || strings.Contains(string(b), "(-C)") {
			continue // run with other settings on purpose
		}
		sets, _, _ := sysctlSettings(t, path)
		for i := 1; i < len(sets); i += 2 {
			name, value, _ := strings.Cut(sets[i], "=")
			if name == "net.netfilter.nf_conntrack_log_invalid" {
				continue // the oracle logs every invalid packet; hare's default is 0, as Linux's
			}
			want, _ := strconv.ParseInt(value, 10, 64)
			if got, _ := def.Get(name); got != want {
				t.Errorf("%s: %s = %d, hare's default is %d", filepath.Base(filepath.Dir(path)), name, want, got)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no setting checked")
	}
}

// TestKernelDiff replays every capture of the shared corpus and compares
// hare's conclusions with the kernel's (see the top of this file).
func TestKernelDiff(t *testing.T) {
	if _, err := os.Stat(referenceDir); err != nil {
		t.Skipf("skipping: kernel reference not found at %s (it lives in ../shared beside the repository)", referenceDir)
	}
	captures, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap"))
	more, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcapng"))
	captures = append(captures, more...)
	if len(captures) == 0 {
		t.Skipf("skipping: no captures in %s", corpusDir)
	}
	kernelDiff(t, captures, referenceDir, 2800, 260)
}

// scenarioDir holds the generated scenarios (internal/scenario) and the
// kernel's outputs for each, made by scripts/scenario-oracle.sh.
const scenarioDir = "../../testdata/scenarios"

// TestKernelDiffScenarios compares hare with the kernel on the generated
// scenarios: what the shared corpus lacks (simultaneous open, window and RST
// rules, ICMP errors with right and wrong destinations, fragments in every
// order, ND/MLD, SCTP, UDP-Lite, DCCP, GRE). The references are in the
// repository, so this test always runs.
func TestKernelDiffScenarios(t *testing.T) {
	captures, _ := filepath.Glob(filepath.Join(scenarioDir, "*.pcapng"))
	if len(captures) < 20 {
		t.Fatalf("found %d scenario captures in %s, want the generated set", len(captures), scenarioDir)
	}
	kernelDiff(t, captures, scenarioDir, 300, 40)
}

// kernelDiff replays captures as hare replay --clock frozen does and
// compares each with the kernel's outputs in refRoot/NAME; it fails on any
// difference not in knownDifferences, or if fewer than minPackets packets
// and minEntries entries were compared.
func kernelDiff(t *testing.T, captures []string, refRoot string, minPackets, minEntries int) {
	slices.Sort(captures)
	var runs []*captureRun
	for _, path := range captures {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".pcapng"), ".pcap")
		dir := filepath.Join(refRoot, name)
		if _, err := os.Stat(filepath.Join(dir, "packets.jsonl")); err != nil {
			t.Errorf("%s: no kernel reference in %s", name, dir)
			continue
		}
		c := &captureRun{name: name, refDir: dir}
		c.kernel = readJSONLines[kernelPacket](t, filepath.Join(dir, "packets.jsonl"))
		c.ktable = readJSONLines[ctfmt.Entry](t, filepath.Join(dir, "table.jsonl"))
		c.kevents = readJSONLines[eventRec](t, filepath.Join(dir, "events.jsonl"))
		replayCapture(t, c, path)
		comparePackets(c)
		compareTables(c)
		compareEvents(c)
		runs = append(runs, c)
	}

	// Attribute every mismatch to a known difference, or fail.
	type tally struct{ packets, entries, events int }
	byKnown := map[string]*tally{}
	var tot struct{ packets, pktAgree, entries, entAgree, events, evAgree, excluded, unknown int }
	for _, c := range runs {
		tot.packets += c.packets
		tot.pktAgree += c.pktAgree
		tot.entries += c.entries
		tot.entAgree += c.entAgree
		tot.excluded += c.excluded
		tot.events += c.events
		tot.evAgree += c.evAgree
		var unknown []*mismatch
		for _, m := range c.mismatch {
			for _, k := range knownDifferences {
				if k.match(c, m) {
					m.known = k
					break
				}
			}
			if m.known == nil {
				unknown = append(unknown, m)
				continue
			}
			if byKnown[m.known.name] == nil {
				byKnown[m.known.name] = &tally{}
			}
			switch {
			case m.event > 0:
				byKnown[m.known.name].events++
			case m.packet != nil:
				byKnown[m.known.name].packets++
			default:
				byKnown[m.known.name].entries++
			}
		}
		tot.unknown += len(unknown)
		t.Logf("%-48s packets %4d/%-4d entries %3d/%-3d events %3d/%-3d agree%s", c.name, c.pktAgree, c.packets, c.entAgree, c.entries, c.evAgree, c.events, knownNote(c))
		shown := 0
		for _, m := range c.mismatch {
			if m.known != nil && (shown < 3 || os.Getenv("HARE_DIFF_ALL") != "") {
				t.Logf("  known %s: %s", m.known.name, m)
				shown++
			}
		}
		for i, m := range unknown {
			if i == 8 {
				t.Errorf("%s: ... and %d more unexplained differences", c.name, len(unknown)-i)
				break
			}
			t.Errorf("%s: %s", c.name, m)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\nagreement with Linux 6.18 over %d captures:\n", len(runs))
	fmt.Fprintf(&b, "  packets compared %5d, agreeing %5d, differing %4d (%d records not compared: skipped by the oracle or dropped before netfilter)\n",
		tot.packets, tot.pktAgree, tot.packets-tot.pktAgree, tot.excluded)
	fmt.Fprintf(&b, "  entries compared %5d, agreeing %5d, differing %4d\n", tot.entries, tot.entAgree, tot.entries-tot.entAgree)
	fmt.Fprintf(&b, "  events  compared %5d, agreeing %5d, differing %4d\n", tot.events, tot.evAgree, tot.events-tot.evAgree)
	fmt.Fprintf(&b, "  %-12s %8s %8s %8s  %s\n", "KNOWN", "PACKETS", "ENTRIES", "EVENTS", "REASON")
	for _, k := range knownDifferences {
		n := byKnown[k.name]
		if n == nil {
			n = &tally{}
		}
		fmt.Fprintf(&b, "  %-12s %8d %8d %8d  %s\n", k.name, n.packets, n.entries, n.events, k.reason)
		if *n == (tally{}) {
			t.Logf("known difference %q matched nothing: if it is gone, remove it from knownDifferences and DIFFERENCES.md", k.name)
		}
	}
	fmt.Fprintf(&b, "  %-12s %8s %8s %8s  unexplained differences (each fails the test)\n", "unknown", strconv.Itoa(tot.unknown), "", "")
	t.Log(b.String())
	if tot.packets < minPackets || tot.entries < minEntries {
		t.Errorf("compared only %d packets and %d entries, want at least %d and %d", tot.packets, tot.entries, minPackets, minEntries)
	}
}

// knownNote lists a capture's known differences in its summary line.
func knownNote(c *captureRun) string {
	counts := map[string]int{}
	for _, m := range c.mismatch {
		if m.known != nil {
			counts[m.known.name]++
		}
	}
	if len(counts) == 0 {
		return ""
	}
	var parts []string
	for _, k := range knownDifferences {
		if n := counts[k.name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k.name, n))
		}
	}
	return " (known: " + strings.Join(parts, ", ") + ")"
}
