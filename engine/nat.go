package engine

import "github.com/hare-fw/hare/ruleset"

// NAT chains, at the verdict level.
//
// A `type nat` base chain runs as Linux runs it (nf_nat_inet_fn): only
// for a packet whose conntrack entry has no NAT binding yet for the
// chain's manip type, which is the first packet of a connection (ct state
// new, not yet confirmed) and related packets other than ICMP errors;
// never for established traffic, replies, untracked or invalid packets.
// On the hooks before routing and on output the manip type is
// destination NAT; on input and postrouting it is source NAT. A NAT
// statement (snat, dnat, masquerade, redirect) sets up the binding and
// ends the chain with accept (nft_nat_eval returns NF_ACCEPT), and the
// further nat chains of the same hook no longer run
// (nf_nat_inet_fn stops at nf_nat_initialized).
//
// hare does not translate yet: the packet goes on with its own addresses
// and ports, and Result.NAT says which NAT statement decided, so a replay
// flags every such packet ("nat … not applied") instead of hiding it.
// Verdicts and counters are exactly the kernel's when the translation
// does not change the packet's fate (a rule counting or dropping in a nat
// chain; a NAT to the address the packet already has): TestKernelOracle
// runs nat.nft.

// NATKind is the NAT statement that decided a nat chain.
type NATKind uint8

// NAT statements.
const (
	NATNone NATKind = iota
	NATSnat
	NATDnat
	NATMasquerade
	NATRedirect
)

var natNames = [...]string{"", "snat", "dnat", "masquerade", "redirect"}

func (k NATKind) String() string {
	if int(k) < len(natNames) {
		return natNames[k]
	}
	return "unknown"
}

// dnat reports whether k changes the destination (the DNAT manip type).
func (k NATKind) dnat() bool { return k == NATDnat || k == NATRedirect }

// natHookDNAT reports whether a nat chain on h has the destination manip
// type (NF_NAT_MANIP_DST: prerouting and output).
func natHookDNAT(h Hook) bool { return h == HookPrerouting || h == HookOutput }

// compileNat compiles a NAT statement of chain cc: checked as
// nft_nat_validate checks it (a nat chain; snat and masquerade on input
// and postrouting, dnat and redirect on prerouting and output).
func compileNat(cc *chain, s *ruleset.NatStmt) (op, error) {
	var k NATKind
	switch s.Kind {
	case "snat":
		k = NATSnat
	case "dnat":
		k = NATDnat
	case "masquerade":
		k = NATMasquerade
	case "redirect":
		k = NATRedirect
	default:
		return op{}, &Error{s.Pos, "unsupported: " + s.Kind + " statement"}
	}
	if !cc.nat {
		return op{}, &Error{s.Pos, sprintf("%s is only valid in a nat chain (chain %s is not one)", s.Kind, cc.name)}
	}
	if cc.hook != HookUnknown && natHookDNAT(cc.hook) != k.dnat() {
		return op{}, &Error{s.Pos, sprintf("%s is not valid on the %s hook", s.Kind, cc.hook)}
	}
	return op{kind: opVerdict, act: actAccept, nat: k}, nil
}

// natSkips reports whether nat base chain ch on hook h does not run for
// the packet (see the top of this file).
func (cx *evalCtx) natSkips(h Hook) bool {
	if !cx.tracked || cx.untracked {
		return true
	}
	if cx.natDone&natBit(h) != 0 {
		return true
	}
	switch cx.ctState {
	case 8: // new
		return !cx.r.CT.New
	case 4: // related: ICMP errors are translated, not looked up
		return cx.p.Proto == 1 || cx.p.Proto == 58
	}
	return true
}

func natBit(h Hook) uint8 {
	if natHookDNAT(h) {
		return 1
	}
	return 2
}
