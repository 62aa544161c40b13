package ruleset

import "strings"

// nft 1.0.6 lexes these words as keywords wherever it reads the name of a
// table, chain, set, map or object, or a jump or goto target, so there it
// refuses them: `chain fwd { }` is "syntax error, unexpected fwd,
// expecting string" (scanner.l's keywords of the global scope; words of
// a narrower scope, such as saddr, are names there). Measured with nft
// -c over some 2,100 candidate words, every word of nft(8) and of this
// package; TestReservedNamesNft checks the list against nft when it is
// installed. The value is how nft's message names the token when that is
// not the word itself.
var reservedNames = func() map[string]string {
	m := map[string]string{"and": "&", "eq": "==", "ge": ">=", "gt": ">", "le": "<=", "lshift": "<<",
		"lt": "<", "ne": "!=", "not": "!", "or": "'|'", "rshift": ">>", "xor": "^"}
	for _, w := range strings.Fields(`accept add ah all arp auto-merge bridge cgroup chain comment comp
		constant continue counter cpu create ct day dccp define delete describe device devices dnat drop
		dst dup dynamic ecn element elements esp ether exists expires export exthdr fib flags flow
		flowtable flush frag fwd gc-interval get goto handle hbh hook hour ibrname icmp icmpv6 igmp iif
		iifgroup iifname iiftype import include index inet insert interval ip ip6 ipsec jhash jump limit
		list log map mark masquerade meta meter mh missing monitor netdev nftrace notrack numgen obrname
		offload oif oifgroup oifname oiftype osf pkttype policy position priority queue quota random
		redefine redirect reject replace reset return rt rt0 rtclassid rule ruleset sctp secmark set size
		skgid skuid snat socket srh symhash synproxy table tcp th time timeout tproxy type typeof udp
		udplite undefine update vlan vmap xt`) {
		m[w] = w
	}
	return m
}()

// objectReserved are the further words an object's name cannot be, by
// kind: nft reads the name in the scope of the object's body (measured as
// above; sets and maps have none, synproxy, secmark and flowtable names
// were not measured).
var objectReserved = func() map[string][]string {
	ct := strings.Fields(`avgpkt bytes count daddr direction dport event expectation expiration
		helper helpers id l3proto label original over packets proto-dst proto-src protocol reply saddr
		state status zone`)
	return map[string][]string{
		"counter":   {"bytes", "name", "packets"},
		"quota":     {"bytes", "name", "over", "until", "used"},
		"limit":     {"burst", "bytes", "minute", "name", "over", "packets", "rate", "second", "week"},
		"ct helper": ct, "ct timeout": ct, "ct expectation": ct,
	}
}()

// nameIdent reads the name of a table, chain, set, map or object of kind
// (one of objectReserved's, or ""), refusing what nft lexes as a keyword
// there.
func (p *parser) nameIdent(kind string) string {
	p.refuseReserved(kind, "string")
	return p.ident()
}

// targetIdent reads the chain a jump or goto names; nft's message says
// what it wanted instead of a keyword there (want).
func (p *parser) targetIdent(want string) string {
	p.refuseReserved("", want)
	return p.ident()
}

func (p *parser) refuseReserved(kind, want string) {
	t := p.peek()
	if t.kind != tokWord {
		return
	}
	disp, ok := reservedNames[t.text]
	for _, w := range objectReserved[kind] {
		if w == t.text {
			disp, ok = w, true
		}
	}
	if ok {
		p.failAt(t, "syntax error, unexpected %s, expecting %s", disp, want)
	}
}
