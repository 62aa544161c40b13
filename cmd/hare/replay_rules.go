package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// rulesHelp documents the ruleset flags of `hare replay`.
const rulesHelp = `
Ruleset:
  --rules FILE
        Evaluate an nftables ruleset (families ip, ip6, inet; filter
        chains) on every packet, as the kernel would on a host that
        receives every packet on one interface and delivers it locally:
        prerouting chains (notrack before conntrack), conntrack, the other
        prerouting chains, input chains; a new connection is confirmed only
        when its packet is accepted. With --packets each line ends with the
        verdict and the rule (table, chain, handle) or policy that decided
        it; the rule counters, then the named counters and quotas (as nft
        list counters/quotas shows them) are printed after the run. Each
        log statement a packet runs prints, before its line, "log LEVEL: "
        or "nflog group N: " and the line Linux's nf_log_syslog writes
        ("PREFIX IN=kor0 OUT= MAC= SRC=... PROTO=TCP SPT=... SYN URGP=0 ").
        Limits run on the capture's clock (--clock). A construct hare
        does not evaluate yet is an error naming it and its file:line:col.
          hare replay --rules host.nft --packets trace.pcap
  --emit FILE
        With --rules, write the packets the ruleset's reject statements
        send (TCP resets, ICMP and ICMPv6 errors, built as Linux builds
        them) to FILE, a pcapng of raw IP packets stamped with the time of
        the packet that caused them.
          hare replay --emit rejects.pcapng --rules host.nft trace.pcap
  --iifname NAME
        The input interface the packets arrive on, for meta iifname
        (default "kor0", the kernel oracle's interface).
          hare replay --iifname eth0 --rules host.nft trace.pcap
  --trace
        With --rules, print the lines "nft monitor trace" (nft 1.0.6)
        prints for every packet whose nftrace flag is set (by a rule
        "meta nftrace set 1"; from that rule on, as in the kernel): per
        base chain a "packet:" line with the packet's fields, then one
        line per rule that ran to its end ("rule TEXT (verdict V)") and
        "policy P". Each packet's lines come before its --packets line.
        Trace ids are not the kernel's (its are random). Checked against
        the kernel's own trace (oracle.sh -T) in cmd/hare/trace_test.go.
          hare replay --trace --rules host.nft trace.pcap
  --trace-all
        --trace for every packet, as if the first rule of prerouting set
        nftrace (oracle.sh -T).
          hare replay --trace-all --rules host.nft trace.pcap
  --explain N
        With --rules, explain packet N (the number of --packets): its
        decode, what conntrack said (state, direction, entry, reason for
        INVALID), the routing decision, every base chain it visited in
        hook and priority order, every rule evaluated there ("matched", or
        "did not match: EXPR (packet has VALUE)"), jumps, returns,
        policies, and the final verdict and what decided it. With -o json
        one JSON object.
          hare replay --explain 3 --rules host.nft trace.pcap
  --inside PREFIXES
        With --rules, make the host a router between the inside network
        (comma-separated prefixes, interface "lan") and everything else
        (interface "wan", the default route), with no address of its own:
        every packet arrives on the interface of its source's side and is
        forwarded (prerouting, forward, postrouting, with iifname and
        oifname set); a new connection is confirmed after postrouting.
        The kernel oracle cannot check this path (it only delivers
        locally): the forward path is checked against hare's reference
        interpreter only.
          hare replay --inside 10.0.0.0/8,fd00::/8 --rules router.nft trace.pcap
  --topology FILE
        With --rules, place the packets in the network FILE describes,
        one declaration per line (# comments):
            ZONE IFNAME PREFIX[,PREFIX...]   networks behind IFNAME
            ZONE IFNAME default              the default route
            local ADDR[,ADDR...]             the host's own addresses
        A packet arrives on the interface whose prefix holds its source
        (longest match); one to a local address (or multicast, or
        255.255.255.255) is delivered locally (prerouting, input); any
        other is forwarded out of the interface whose prefix holds its
        destination (prerouting, forward, postrouting), or dropped after
        prerouting when none does. Like --inside, not checkable against
        the kernel oracle.
          hare replay --topology net.txt --rules router.nft trace.pcap
`

// rulesRun evaluates a ruleset during a replay (report.Tracker.Filter).
type rulesRun struct {
	comp *engine.Compiled
	eng  *engine.Engine
	tab  *conntrack.Table
	meta engine.Meta
	res  engine.Result
	json bool
	w    io.Writer
	buf  []byte
	err  error
	emit *emitter // --emit, or nil
	logs []byte   // the packet's log lines (replay_log.go)

	trace *traceRun        // --trace, --trace-all, --explain, or nil
	topo  *engine.Topology // --inside, --topology, or nil
	f     *replayFlags
}

// setupRules compiles f.rules and hooks it into tr; nil when no ruleset
// was given.
func setupRules(f *replayFlags, tr *report.Tracker, w io.Writer) (*rulesRun, error) {
	if f.rules == "" {
		for _, x := range []struct {
			set  bool
			name string
		}{{f.emit != "", "--emit"}, {f.trace, "--trace"}, {f.traceAll, "--trace-all"}, {f.explain != 0, "--explain"},
			{f.inside != "", "--inside"}, {f.topology != "", "--topology"}} {
			if x.set {
				return nil, fmt.Errorf("%s needs --rules", x.name)
			}
		}
		return nil, nil
	}
	// What nft -f would refuse is refused here too, with nft's message
	// (the same check as hare ruleset check).
	rs, err := ruleset.LoadFile(f.rules)
	if err != nil {
		return nil, err
	}
	comp, err := engine.Compile(rs)
	if err != nil {
		return nil, err
	}
	if len(f.iifname) > 15 {
		return nil, fmt.Errorf("--iifname %q: longer than 15 bytes", f.iifname)
	}
	rr := &rulesRun{comp: comp, json: f.output == "json", w: w, meta: engine.Meta{Iifname: engine.IfName(f.iifname)}}
	if rr.topo, err = newTopology(f); err != nil {
		return nil, err
	}
	if rr.emit, err = newEmitter(f.emit); err != nil {
		return nil, err
	}
	rr.f = f
	rr.trace = newTraceRun(f, rs)
	tr.Filter = rr.filter
	if f.packets || rr.trace != nil {
		tr.OnPacket = rr.onPacket
	}
	return rr, nil
}

func (rr *rulesRun) filter(t *conntrack.Table, p *packet.Parsed, now int64, res *conntrack.Result) {
	if t != rr.tab {
		rr.tab, rr.eng = t, engine.New(t, rr.comp) // a fresh table per capture
		rr.eng.SetLogSink(rr.logSink)              // replay_log.go
	}
	if rr.topo != nil {
		rr.topo.Route(p, &rr.meta)
	}
	if rr.trace != nil {
		rr.trace.before(&rr.meta)
	}
	rr.eng.Packet(p, &rr.meta, now, &rr.res)
	rr.flushLogs()
	if rr.trace != nil {
		rr.trace.after(p, &rr.meta, &rr.res)
	}
	if rr.emit != nil && rr.res.Verdict == engine.Reject {
		rr.emit.reject(p, rr.res.Reject, now)
	}
	*res = rr.res.CT
}

// onPacket writes the packet's trace or explanation and its --packets
// line.
func (rr *rulesRun) onPacket(r *report.PacketResult) {
	if rr.trace != nil {
		rr.trace.packet(r, rr.write)
	}
	if rr.f.packets {
		rr.packet(r)
	}
}

// newTopology reads --topology or builds --inside's; nil for the default
// (one interface, local delivery).
func newTopology(f *replayFlags) (*engine.Topology, error) {
	switch {
	case f.inside != "" && f.topology != "":
		return nil, fmt.Errorf("--inside and --topology exclude each other")
	case f.inside != "":
		t, err := engine.InsideTopology(f.inside)
		if err != nil {
			return nil, fmt.Errorf("--inside: %v", err)
		}
		return t, nil
	case f.topology != "":
		fh, err := os.Open(f.topology)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		t, err := engine.ParseTopology(fh)
		if err != nil {
			return nil, fmt.Errorf("--topology %s: %v", f.topology, err)
		}
		return t, nil
	}
	return nil, nil
}

// packet writes the packet's line with its verdict.
func (rr *rulesRun) packet(r *report.PacketResult) {
	verdict, by := "", ""
	switch r.Outcome {
	case report.OutcomeTracked:
		res := &rr.res
		verdict = res.Verdict.String()
		switch res.By {
		case engine.DecidedRule:
			by = fmt.Sprintf("rule %s %s handle %d (%s)", res.Table, res.Chain, res.Rule, res.Hook)
		case engine.DecidedPolicy:
			by = fmt.Sprintf("policy of %s %s (%s)", res.Table, res.Chain, res.Hook)
		case engine.DecidedNone:
			by = "no chain"
		default:
			by = res.By.String()
		}
		if res.NAT != engine.NATNone {
			// engine/nat.go: the nat chain's decision is the kernel's,
			// the translation is not performed yet.
			by += "; " + res.NAT.String() + " not applied (hare does not translate yet)"
		}
	case report.OutcomeHeld:
		verdict = "held"
	default:
		verdict, by = "drop", r.Outcome.String()
	}
	if rr.json {
		b := bytes.TrimRight(r.AppendJSON(rr.buf[:0]), "}\n")
		b = append(b, `,"verdict":`...)
		b = strconv.AppendQuote(b, verdict)
		b = append(b, `,"decided_by":`...)
		b = strconv.AppendQuote(b, by)
		rr.buf = append(b, "}\n"...)
	} else {
		b := append(r.AppendText(rr.buf[:0]), " || "...)
		b = append(b, verdict...)
		if by != "" {
			b = append(append(b, " by "...), by...)
		}
		rr.buf = append(b, '\n')
	}
	rr.write(rr.buf)
}

func (rr *rulesRun) write(b []byte) {
	if rr.err == nil {
		_, rr.err = rr.w.Write(b)
	}
}

// finish closes --emit's file and writes the rule counters (with
// counters) after the run.
func (rr *rulesRun) finish(counters bool) {
	if rr.emit != nil {
		if err := rr.emit.close(); err != nil && rr.err == nil {
			rr.err = err
		}
	}
	if counters {
		rr.counters()
	}
}

// counters writes the rule counters.
func (rr *rulesRun) counters() {
	cs := rr.comp.Counters()
	if rr.json {
		rr.write([]byte(`{"rule_counters":[`))
		for i, c := range cs {
			if i > 0 {
				rr.write([]byte{','})
			}
			rr.write(fmt.Appendf(nil, `{"family":%q,"table":%q,"chain":%q,"handle":%d,"packets":%d,"bytes":%d}`,
				c.Family.String(), c.Table, c.Chain, c.Handle, c.Packets, c.Bytes))
		}
		rr.write([]byte("]}\n"))
		rr.objects()
		return
	}
	rr.write([]byte("\nrule counters:\n"))
	for _, c := range cs {
		rr.write(fmt.Appendf(nil, "  %s %s %s handle %d: %d packets %d bytes\n",
			c.Family, c.Table, c.Chain, c.Handle, c.Packets, c.Bytes))
	}
	rr.objects()
}
