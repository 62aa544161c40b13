package conntrack

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Settings are the tracker's tunables, named as Linux's net.netfilter
// sysctls without the nf_conntrack_ prefix (tcp_timeout_established is
// net.netfilter.nf_conntrack_tcp_timeout_established), with the same units:
// timeouts in seconds, thresholds in bytes, switches 0 or 1.
//
// DefaultSettings returns the values of the Linux 6.18 kernel the reference
// outputs were recorded on. RFCSettings returns the RFC-conformant profile.
// A Settings value is read-only once handed to a Table; change settings by
// handing over a new one (Table.SetSettings).
type Settings struct {
	values [numSettings]int64
}

// setting indexes Settings.values.
type setting uint8

const (
	setMax setting = iota
	setAcct
	setTimestamp
	setEvents
	setChecksum
	setLogInvalid
	setTCPLoose
	setTCPBeLiberal
	setTCPMaxRetrans
	setTCPIgnoreInvalidRST
	setTCPNoWindowCheck
	setUDPLiteChecksumRFC
	setTCPSynSent // the TCP timeouts, in TCPState order from SYN_SENT
	setTCPSynRecv
	setTCPEstablished
	setTCPFinWait
	setTCPCloseWait
	setTCPLastAck
	setTCPTimeWait
	setTCPClose
	setTCPMaxRetransTimeout
	setTCPUnack
	setUDP
	setUDPStream
	setICMP
	setICMPv6
	setGeneric
	setGRE
	setGREStream
	setSCTPClosed // the SCTP timeouts, in sctpState order
	setSCTPCookieWait
	setSCTPCookieEchoed
	setSCTPEstablished
	setSCTPShutdownSent
	setSCTPShutdownRecd
	setSCTPShutdownAckSent
	setSCTPHeartbeatSent
	setDCCPRequest // the DCCP timeouts (hare only: Linux 6.16 removed DCCP tracking)
	setDCCPRespond
	setDCCPPartOpen
	setDCCPOpen
	setDCCPCloseReq
	setDCCPClosing
	setDCCPTimeWait
	setFrag6Timeout
	setFrag6High
	setFrag6Low
	setFragTimeout
	setFragHigh
	setFragLow
	numSettings
)

type settingDef struct {
	name    string
	linux   int64 // Linux 6.18 default (as recorded in kernel-reference/*/sysctl.txt)
	rfc     int64 // RFC profile value
	max     int64 // largest accepted value
	timeout bool
	doc     string
}

const day = 86400

var settingDefs = [numSettings]settingDef{
	setMax:                  {"max", 262144, 262144, 1 << 31, false, "entries the table holds at most (nf_conntrack_max)"},
	setAcct:                 {"acct", 1, 1, 1, false, "count packets and bytes per direction (Linux default 0; hare counts by default)"},
	setTimestamp:            {"timestamp", 1, 1, 1, false, "record start and stop times (Linux default 0; hare records by default)"},
	setEvents:               {"events", 1, 1, 1, false, "deliver NEW/UPDATE/DESTROY events to subscribers"},
	setChecksum:             {"checksum", 1, 1, 1, false, "verify TCP, UDP and ICMP checksums; a bad one makes the packet invalid"},
	setLogInvalid:           {"log_invalid", 0, 0, 255, false, "protocol number whose invalid packets are logged (255: all, 0: none)"},
	setTCPLoose:             {"tcp_loose", 1, 1, 1, false, "pick up TCP connections whose SYN was not seen"},
	setTCPBeLiberal:         {"tcp_be_liberal", 0, 0, 1, false, "mark only out-of-window RSTs invalid, accept other out-of-window segments"},
	setTCPMaxRetrans:        {"tcp_max_retrans", 3, 3, 255, false, "retransmissions before tcp_timeout_max_retrans applies"},
	setTCPIgnoreInvalidRST:  {"tcp_ignore_invalid_rst", 0, 0, 1, false, "do not mark out-of-window RSTs invalid"},
	setTCPNoWindowCheck:     {"tcp_no_window_check", 0, 0, 1, false, "skip TCP window tracking"},
	setUDPLiteChecksumRFC:   {"udplite_checksum_rfc", 0, 1, 1, false, "hare only: verify UDP-Lite checksums as RFC 3828 defines them (pseudo-header protocol 136); Linux conntrack uses 17"},
	setTCPSynSent:           {"tcp_timeout_syn_sent", 120, 240, day * 365, true, ""},
	setTCPSynRecv:           {"tcp_timeout_syn_recv", 60, 240, day * 365, true, ""},
	setTCPEstablished:       {"tcp_timeout_established", 432000, 432000, day * 365, true, ""},
	setTCPFinWait:           {"tcp_timeout_fin_wait", 120, 240, day * 365, true, ""},
	setTCPCloseWait:         {"tcp_timeout_close_wait", 60, 240, day * 365, true, ""},
	setTCPLastAck:           {"tcp_timeout_last_ack", 30, 240, day * 365, true, ""},
	setTCPTimeWait:          {"tcp_timeout_time_wait", 120, 240, day * 365, true, ""},
	setTCPClose:             {"tcp_timeout_close", 10, 240, day * 365, true, ""},
	setTCPMaxRetransTimeout: {"tcp_timeout_max_retrans", 300, 300, day * 365, true, ""},
	setTCPUnack:             {"tcp_timeout_unacknowledged", 300, 300, day * 365, true, ""},
	setUDP:                  {"udp_timeout", 30, 300, day * 365, true, "UDP entries without a reply (RFC 4787 REQ-5 wants at least 120, default 300)"},
	setUDPStream:            {"udp_timeout_stream", 120, 300, day * 365, true, "assured UDP entries"},
	setICMP:                 {"icmp_timeout", 30, 60, day * 365, true, "ICMP queries (RFC 5508 REQ-2 wants at least 60)"},
	setICMPv6:               {"icmpv6_timeout", 30, 60, day * 365, true, "ICMPv6 queries"},
	setGeneric:              {"generic_timeout", 600, 600, day * 365, true, "protocols without a tracker of their own"},
	setGRE:                  {"gre_timeout", 30, 300, day * 365, true, "GRE without a reply"},
	setGREStream:            {"gre_timeout_stream", 180, 600, day * 365, true, "GRE seen both ways"},
	setSCTPClosed:           {"sctp_timeout_closed", 10, 240, day * 365, true, ""},
	setSCTPCookieWait:       {"sctp_timeout_cookie_wait", 3, 240, day * 365, true, ""},
	setSCTPCookieEchoed:     {"sctp_timeout_cookie_echoed", 3, 240, day * 365, true, ""},
	setSCTPEstablished:      {"sctp_timeout_established", 210, 7440, day * 365, true, ""},
	setSCTPShutdownSent:     {"sctp_timeout_shutdown_sent", 3, 240, day * 365, true, ""},
	setSCTPShutdownRecd:     {"sctp_timeout_shutdown_recd", 3, 240, day * 365, true, ""},
	setSCTPShutdownAckSent:  {"sctp_timeout_shutdown_ack_sent", 3, 240, day * 365, true, ""},
	setSCTPHeartbeatSent:    {"sctp_timeout_heartbeat_sent", 30, 240, day * 365, true, ""},
	setDCCPRequest:          {"dccp_timeout_request", 240, 480, day * 365, true, ""},
	setDCCPRespond:          {"dccp_timeout_respond", 480, 480, day * 365, true, ""},
	setDCCPPartOpen:         {"dccp_timeout_partopen", 480, 480, day * 365, true, ""},
	setDCCPOpen:             {"dccp_timeout_open", 43200, 43200, day * 365, true, ""},
	setDCCPCloseReq:         {"dccp_timeout_closereq", 64, 480, day * 365, true, ""},
	setDCCPClosing:          {"dccp_timeout_closing", 64, 480, day * 365, true, ""},
	setDCCPTimeWait:         {"dccp_timeout_timewait", 240, 480, day * 365, true, ""},
	setFrag6Timeout:         {"frag6_timeout", 60, 60, 3600, true, "IPv6 reassembly timeout (RFC 8200 §4.5: 60)"},
	setFrag6High:            {"frag6_high_thresh", 4 << 20, 4 << 20, 1 << 34, false, "bytes of IPv6 fragments held before queues are dropped"},
	setFrag6Low:             {"frag6_low_thresh", 3 << 20, 3 << 20, 1 << 34, false, "bytes to shrink to once frag6_high_thresh is hit"},
	setFragTimeout:          {"ipfrag_time", 30, 30, 3600, true, "IPv4 reassembly timeout (net.ipv4.ipfrag_time)"},
	setFragHigh:             {"ipfrag_high_thresh", 4 << 20, 4 << 20, 1 << 34, false, "bytes of IPv4 fragments held (net.ipv4.ipfrag_high_thresh)"},
	setFragLow:              {"ipfrag_low_thresh", 3 << 20, 3 << 20, 1 << 34, false, "(net.ipv4.ipfrag_low_thresh)"},
}

// DefaultSettings returns Linux 6.18's defaults, except that accounting,
// timestamps and events are on (Linux: acct 0, timestamp 0), since counters
// are much of what hare is for. See DIFFERENCES.md.
func DefaultSettings() *Settings {
	s := new(Settings)
	for i, d := range settingDefs {
		s.values[i] = d.linux
	}
	return s
}

// RFCSettings returns the RFC-conformant profile: the timeout floors of RFC
// 4787 REQ-5 (UDP 5 min), RFC 5508 REQ-2 (ICMP 60 s), RFC 5382 REQ-5 and
// RFC 6092 REC-35/40/44 (TCP, SCTP and DCCP transitory states at least 4
// min, established at least 2 h 4 min); everything else as DefaultSettings.
func RFCSettings() *Settings {
	s := new(Settings)
	for i, d := range settingDefs {
		s.values[i] = d.rfc
	}
	return s
}

// Clone returns a copy that can be changed.
func (s *Settings) Clone() *Settings {
	c := *s
	return &c
}

// Set sets the named setting (with or without the nf_conntrack_ or
// net.netfilter.nf_conntrack_ prefix) from its decimal value.
func (s *Settings) Set(name, value string) error {
	i, ok := settingIndex(name)
	if !ok {
		return fmt.Errorf("unknown conntrack setting %q (see hare replay --help-settings)", name)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || v < 0 || v > settingDefs[i].max {
		return fmt.Errorf("setting %s: %q is not a number between 0 and %d", settingDefs[i].name, value, settingDefs[i].max)
	}
	s.values[i] = v
	return nil
}

// Get returns the named setting's value.
func (s *Settings) Get(name string) (int64, bool) {
	i, ok := settingIndex(name)
	if !ok {
		return 0, false
	}
	return s.values[i], true
}

// Names returns every setting name, sorted.
func SettingNames() []string {
	out := make([]string, 0, numSettings)
	for _, d := range settingDefs {
		out = append(out, d.name)
	}
	sort.Strings(out)
	return out
}

// SettingDoc returns a setting's one-line description and Linux default.
func SettingDoc(name string) (doc string, linux int64, ok bool) {
	i, ok := settingIndex(name)
	if !ok {
		return "", 0, false
	}
	return settingDefs[i].doc, settingDefs[i].linux, true
}

func settingIndex(name string) (setting, bool) {
	name = strings.TrimPrefix(name, "net.netfilter.")
	name = strings.TrimPrefix(name, "nf_conntrack_")
	name = strings.TrimPrefix(name, "net.ipv4.")
	for i, d := range settingDefs {
		if d.name == name {
			return setting(i), true
		}
	}
	return 0, false
}

// get returns a raw value.
func (s *Settings) get(i setting) int64 { return s.values[i] }

// on reports whether a switch is set.
func (s *Settings) on(i setting) bool { return s.values[i] != 0 }

// timeout returns a timeout setting in nanoseconds.
func (s *Settings) timeout(i setting) int64 { return s.values[i] * int64(time.Second) }
