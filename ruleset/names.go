package ruleset

import "strings"

// Symbol tables of the nft language. Values were checked against nft
// 1.0.6 on Debian bookworm (its /etc/services and /etc/protocols).

func fields(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

// payloadFields lists, per header keyword, its field names.
var payloadFields = map[string]map[string]bool{
	"ip":      fields("version hdrlength dscp ecn length id frag-off ttl protocol checksum saddr daddr"),
	"ip6":     fields("version dscp ecn flowlabel length nexthdr hoplimit saddr daddr"),
	"tcp":     fields("sport dport sequence ackseq doff reserved flags window checksum urgptr"),
	"udp":     fields("sport dport length checksum"),
	"udplite": fields("sport dport csumcov checksum"),
	"sctp":    fields("sport dport vtag checksum"),
	"dccp":    fields("sport dport type"),
	"th":      fields("sport dport"),
	"icmp":    fields("type code checksum id sequence gateway mtu"),
	"icmpv6":  fields("type code checksum parameter-problem packet-too-big mtu id sequence max-delay taddr daddr"),
	"igmp":    fields("type mrt checksum group"),
	"ah":      fields("nexthdr hdrlength reserved spi sequence"),
	"esp":     fields("spi sequence"),
	"comp":    fields("nexthdr flags cpi"),
	"ether":   fields("saddr daddr type"),
	"vlan":    fields("id cfi dei pcp type"),
	"arp":     fields("htype ptype hlen plen operation saddr daddr"),
	"hbh":     fields("nexthdr hdrlength"),
	"frag":    fields("nexthdr reserved frag-off reserved2 more-fragments id"),
	"rt0":     fields("nexthdr hdrlength type seg-left"),
	"srh":     fields("nexthdr hdrlength type seg-left last-entry flags tag"),
	"dst":     fields("nexthdr hdrlength"),
	"mh":      fields("nexthdr hdrlength type reserved checksum"),
	"dup":     nil,
}

// unqualifiedMeta are meta keys that may be written without "meta".
var unqualifiedMeta = fields("pkttype mark iif oif iifname oifname iiftype oiftype skuid skgid nftrace rtclassid priority iifgroup oifgroup cgroup ibrname obrname cpu")

// printUnqualifiedMeta are the meta keys nft prints without "meta".
var printUnqualifiedMeta = fields("iif oif iifname oifname iifgroup oifgroup")

var otherSelectors = fields("meta ct fib rt socket numgen jhash symhash osf exthdr ipsec tunnel")

func isSelectorStart(w string) bool {
	_, ok := payloadFields[w]
	return (ok && w != "dup") || unqualifiedMeta[w] || otherSelectors[w]
}

// services maps service names to ports (the entries nft resolves through
// /etc/services that real rulesets use).
var services = map[string]uint64{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67, "bootpc": 68,
	"tftp": 69, "http": 80, "www": 80, "kerberos": 88, "pop3": 110, "sunrpc": 111, "auth": 113, "ntp": 123,
	"netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139, "imap": 143, "imap2": 143, "snmp": 161,
	"snmp-trap": 162, "bgp": 179, "ldap": 389, "https": 443, "microsoft-ds": 445, "isakmp": 500,
	"syslog": 514, "submission": 587, "ldaps": 636, "rsync": 873, "imaps": 993, "pop3s": 995,
	"socks": 1080, "openvpn": 1194, "ms-sql-s": 1433, "l2tp": 1701, "pptp": 1723, "radius": 1812,
	"radius-acct": 1813, "nfs": 2049, "mysql": 3306, "ipsec-nat-t": 4500, "sip": 5060, "sip-tls": 5061,
	"postgresql": 5432, "x11": 6000, "http-alt": 8080, "webcache": 8080, "domain-s": 853, "mdns": 5353,
	"smtps": 465, "urd": 465, "xmpp-client": 5222, "xmpp-server": 5269, "git": 9418, "dhcpv6-client": 546,
	"dhcpv6-server": 547, "rtsp": 554, "ipp": 631, "kerberos-adm": 749, "nntp": 119, "nntps": 563, "hkp": 11371, "irc": 194,
	"echo": 7, "discard": 9, "daytime": 13, "chargen": 19, "time": 37, "whois": 43, "tacacs": 49,
	"gopher": 70, "finger": 79, "iso-tsap": 102, "epmap": 135, "loc-srv": 135, "nfsd": 2049,
	"squid": 3128, "ms-wbt-server": 3389, "svn": 3690, "amqp": 5672, "zabbix-agent": 10050,
	"zabbix-trapper": 10051, "bacula-dir": 9101, "bacula-fd": 9102, "bacula-sd": 9103,
}

// protocols maps inet_proto names to numbers, and protoNames back (the
// name nft prints).
var protocols = map[string]uint64{
	"hopopt": 0, "icmp": 1, "igmp": 2, "ggp": 3, "ipencap": 4, "st": 5, "tcp": 6, "egp": 8, "igp": 9,
	"pup": 12, "udp": 17, "hmp": 20, "xns-idp": 22, "rdp": 27, "iso-tp4": 29, "dccp": 33, "xtp": 36,
	"ddp": 37, "idpr-cmtp": 38, "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "idrp": 45, "rsvp": 46,
	"gre": 47, "esp": 50, "ah": 51, "skip": 57, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
	"ipv6-opts": 60, "rspf": 73, "vmtp": 81, "eigrp": 88, "ospf": 89, "ax.25": 93, "ipip": 94,
	"etherip": 97, "encap": 98, "pim": 103, "ipcomp": 108, "vrrp": 112, "l2tp": 115, "isis": 124,
	"sctp": 132, "fc": 133, "mobility-header": 135, "udplite": 136, "mpls-in-ip": 137, "manet": 138,
	"hip": 139, "shim6": 140, "wesp": 141, "rohc": 142, "ethernet": 143, "comp": 108,
}

var protoNames = map[uint64]string{}

func init() {
	for n, v := range protocols {
		if n == "icmpv6" || n == "comp" {
			continue
		}
		protoNames[v] = n
	}
}

// icmpTypes and icmpv6Types map the type names to values.
var icmpTypes = map[string]uint64{
	"echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5, "echo-request": 8,
	"router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11, "parameter-problem": 12,
	"timestamp-request": 13, "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
	"address-mask-request": 17, "address-mask-reply": 18,
}

var icmpv6Types = map[string]uint64{
	"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
	"echo-request": 128, "echo-reply": 129, "mld-listener-query": 130, "mld-listener-report": 131,
	"mld-listener-done": 132, "mld-listener-reduction": 132, "nd-router-solicit": 133, "nd-router-advert": 134,
	"nd-neighbor-solicit": 135, "nd-neighbor-advert": 136, "nd-redirect": 137, "router-renumbering": 138,
	"ind-neighbor-solicit": 141, "ind-neighbor-advert": 142, "mld2-listener-report": 143,
}

// dscpValues maps the DSCP names nft knows to their codepoints (RFC 2474
// class selectors, RFC 2597 AF, RFC 3246 EF, RFC 5865 VA, RFC 8622 LE).
var dscpValues = map[string]uint64{
	"cs0": 0x00, "cs1": 0x08, "cs2": 0x10, "cs3": 0x18, "cs4": 0x20, "cs5": 0x28, "cs6": 0x30, "cs7": 0x38,
	"df": 0x00, "be": 0x00, "lephb": 0x01,
	"af11": 0x0a, "af12": 0x0c, "af13": 0x0e, "af21": 0x12, "af22": 0x14, "af23": 0x16,
	"af31": 0x1a, "af32": 0x1c, "af33": 0x1e, "af41": 0x22, "af42": 0x24, "af43": 0x26,
	"va": 0x2c, "ef": 0x2e,
}

// dscpNames is the name nft prints for each codepoint.
var dscpNames = map[uint64]string{}

func init() {
	for n, v := range dscpValues {
		dscpNames[v] = n
	}
	dscpNames[0] = "cs0" // not df or be

}

// icmpTypeNames is the name nft prints for each icmp and icmpv6 type.
var icmpTypeNames = map[string]map[uint64]string{"icmp_type": {}, "icmpv6_type": {}}

func init() {
	for n, v := range icmpTypes {
		icmpTypeNames["icmp_type"][v] = n
	}
	for n, v := range icmpv6Types {
		icmpTypeNames["icmpv6_type"][v] = n
	}
	icmpTypeNames["icmpv6_type"][132] = "mld-listener-done" // not -reduction
}

// icmpCodes holds the ICMP and ICMPv6 code names nft 1.0.6 knows
// (icmp_code_type, icmpv6_code_type: RFC 792 and RFC 1812 section 5.2.7.1
// codes of destination unreachable; RFC 4443 section 3.1), and codeNames
// the name it prints for each value.
var icmpCodes = map[string]map[string]uint64{
	"icmp_code": {"net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3,
		"frag-needed": 4, "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13},
	"icmpv6_code": {"no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3, "port-unreachable": 4,
		"policy-fail": 5, "reject-route": 6},
}

var codeNames = map[string]map[uint64]string{"icmp_code": {}, "icmpv6_code": {}}

func init() {
	for typ, tbl := range icmpCodes {
		for n, v := range tbl {
			codeNames[typ][v] = n
		}
	}
}

// days maps meta day names to their numbers (nft's day_type: Sunday is 0).
var days = map[string]uint64{"Sunday": 0, "Monday": 1, "Tuesday": 2, "Wednesday": 3, "Thursday": 4, "Friday": 5, "Saturday": 6}
