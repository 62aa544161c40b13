package ruleset

// Lookups over the symbol tables of the nft language (names.go,
// print_flags.go, parser.go), for the evaluator: one source of truth for
// what a name means. Each reports false for a name it does not know, so a
// caller can refuse it rather than guess. They do not allocate and are
// safe for concurrent use (the tables are never written after init).

// Service returns the port of an inet_service name, such as "ssh" (22).
func Service(name string) (uint16, bool) {
	v, ok := services[name]
	return uint16(v), ok
}

// Protocol returns the number of an inet_proto name, such as "tcp" (6)
// or "ipv6-icmp" (58).
func Protocol(name string) (uint8, bool) {
	v, ok := protocols[name]
	return uint8(v), ok
}

// ICMPType returns the value of an icmp_type name, such as
// "echo-request" (8).
func ICMPType(name string) (uint8, bool) {
	v, ok := icmpTypes[name]
	return uint8(v), ok
}

// ICMPv6Type returns the value of an icmpv6_type name, such as
// "nd-neighbor-solicit" (135).
func ICMPv6Type(name string) (uint8, bool) {
	v, ok := icmpv6Types[name]
	return uint8(v), ok
}

// TCPFlag returns the bit of a tcp_flag name, such as "syn" (0x02).
func TCPFlag(name string) (uint8, bool) {
	v, ok := flagBits["tcp_flag"][name]
	return uint8(v), ok
}

// CtState returns the bit of a ct_state name, such as "established"
// (0x02; NF_CT_STATE_BIT), with invalid 0x01 and untracked 0x40.
func CtState(name string) (uint32, bool) {
	v, ok := flagBits["ct_state"][name]
	return uint32(v), ok
}

// CtStatus returns the bit of a ct_status name, such as "assured" (0x04;
// enum ip_conntrack_status).
func CtStatus(name string) (uint32, bool) {
	v, ok := flagBits["ct_status"][name]
	return uint32(v), ok
}

// StandardPriority returns the number a standard priority name stands
// for on a base chain of family f: "raw" -300, "mangle" -150, "dstnat"
// -100, "filter" 0, "security" 50, "srcnat" 100 (ip, ip6, inet, arp,
// netdev). The bridge family has its own scale; StandardPriority reports
// false for it, and for names of the bridge scale elsewhere.
func StandardPriority(f Family, name string) (int, bool) {
	if f == FamilyBridge || name == "out" || name == "dstnat_bridge" {
		return 0, false
	}
	v, ok := prioNames[name]
	return v, ok
}

// DSCP returns the codepoint of a dscp name, such as "af41" (0x22) or
// "ef" (0x2e).
func DSCP(name string) (uint8, bool) {
	v, ok := dscpValues[name]
	return uint8(v), ok
}
