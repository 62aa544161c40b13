package main

import (
	"bytes"
	"fmt"
	"io"
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
        it; the rule counters are printed after the run. A construct hare
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
}

// setupRules compiles f.rules and hooks it into tr; nil when no ruleset
// was given.
func setupRules(f *replayFlags, tr *report.Tracker, w io.Writer) (*rulesRun, error) {
	if f.rules == "" {
		if f.emit != "" {
			return nil, fmt.Errorf("--emit needs --rules")
		}
		return nil, nil
	}
	pf, err := ruleset.ParseFile(f.rules)
	if err != nil {
		return nil, err
	}
	rs, err := ruleset.Build(pf)
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
	if rr.emit, err = newEmitter(f.emit); err != nil {
		return nil, err
	}
	tr.Filter = rr.filter
	if f.packets {
		tr.OnPacket = rr.packet
	}
	return rr, nil
}

func (rr *rulesRun) filter(t *conntrack.Table, p *packet.Parsed, now int64, res *conntrack.Result) {
	if t != rr.tab {
		rr.tab, rr.eng = t, engine.New(t, rr.comp) // a fresh table per capture
	}
	rr.eng.Packet(p, &rr.meta, now, &rr.res)
	if rr.emit != nil && rr.res.Verdict == engine.Reject {
		rr.emit.reject(p, rr.res.Reject, now)
	}
	*res = rr.res.CT
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

// counters writes the rule counters after the run.
func (rr *rulesRun) counters() {
	if rr.emit != nil {
		if err := rr.emit.close(); err != nil && rr.err == nil {
			rr.err = err
		}
	}
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
		return
	}
	rr.write([]byte("\nrule counters:\n"))
	for _, c := range cs {
		rr.write(fmt.Appendf(nil, "  %s %s %s handle %d: %d packets %d bytes\n",
			c.Family, c.Table, c.Chain, c.Handle, c.Packets, c.Bytes))
	}
}
