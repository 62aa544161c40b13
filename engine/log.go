package engine

import (
	"strconv"
	"strings"

	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/ruleset"
)

// LogParams are a log statement's compiled parameters (nft_log's struct
// nf_loginfo and prefix).
type LogParams struct {
	Prefix string
	// Level is the syslog level of a syslog log (nf_log_syslog), 4
	// (warn) unless given.
	Level uint8
	// Group: the statement logs to nfnetlink_log group Group (`log group
	// N`, NF_LOG_TYPE_ULOG) instead of syslog; then Snaplen and
	// Threshold are its copy length and queue threshold (0: unset).
	HasGroup  bool
	Group     uint16
	Snaplen   uint32
	Threshold uint16
	// Flags are the NF_LOG_* bits of a syslog log (LogTCPSeq…).
	Flags uint8
}

// Log flags (NF_LOG_*), what `log flags` turns on.
const (
	LogTCPSeq   = 0x01 // NF_LOG_TCPSEQ: SEQ= ACK=
	LogTCPOpt   = 0x02 // NF_LOG_TCPOPT: TCP options in hex
	LogIPOpt    = 0x04 // NF_LOG_IPOPT: IPv4 options, IPv6 extension headers
	LogUID      = 0x08 // NF_LOG_UID: the socket's owner (there is none here)
	LogMACDecod = 0x20 // NF_LOG_MACDECODE: decoded MAC header (TUN: none)
	logAll      = 0x2f // NF_LOG_MASK
)

// LogEvent is one log statement run on one packet, as the engine's log
// sink receives it (Engine.SetLogSink). It is valid only during the call:
// Packet and Params alias the caller's packet and the compiled ruleset.
type LogEvent struct {
	Packet  *packet.Parsed
	Iifname [16]byte
	Mark    uint32 // the packet's mark when the statement ran
	Hook    Hook
	Params  *LogParams
	// Local is set for a locally generated packet (Meta.Output): it has
	// no input device and its output device is Oifname.
	Local bool
	// Oifname is the output device on the hooks that have one (forward,
	// output, postrouting), empty elsewhere.
	Oifname [16]byte
}

// LogSink receives log events; it runs on the packet path, so it must not
// block for long, and it must copy what it keeps.
type LogSink func(*LogEvent)

// SetLogSink installs f as the receiver of log events (nil: log statements
// do nothing). Call it before the first Packet.
func (e *Engine) SetLogSink(f LogSink) { e.logSink = f }

var logLevels = map[string]uint8{"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warn": 4, "notice": 5, "info": 6, "debug": 7}

// nfLogPrefixLen is NF_LOG_PREFIXLEN: nft_log_policy takes a prefix of at
// most 127 bytes.
const nfLogPrefixLen = 128

func compileLog(s *ruleset.LogStmt) (*LogParams, error) {
	lp := &LogParams{Level: 4}
	hasLevel, hasFlags := false, false
	for _, o := range s.Opts {
		v, isVal := o.Value.(*ruleset.Value)
		num := func(bits int) (uint64, error) {
			if !isVal {
				return 0, &Error{s.Pos, "log " + o.Key + ": not a number"}
			}
			n, err := strconv.ParseUint(v.Text, 0, bits)
			if err != nil {
				return 0, &Error{v.Pos, sprintf("log %s: bad value %q", o.Key, v.Text)}
			}
			return n, nil
		}
		switch o.Key {
		case "prefix":
			if !isVal {
				return nil, &Error{s.Pos, "unsupported: log prefix expression"}
			}
			if len(v.Text) >= nfLogPrefixLen {
				return nil, &Error{v.Pos, sprintf("log prefix is %d bytes, the kernel takes at most %d", len(v.Text), nfLogPrefixLen-1)}
			}
			lp.Prefix = v.Text
		case "level":
			if !isVal {
				return nil, &Error{s.Pos, "log level: not a word"}
			}
			if v.Text == "audit" {
				return nil, &Error{v.Pos, "unsupported: log level audit (the audit log is not modelled)"}
			}
			l, ok := logLevels[v.Text]
			if !ok {
				return nil, &Error{v.Pos, "log level: unknown level " + v.Text}
			}
			lp.Level, hasLevel = l, true
		case "group":
			n, err := num(16)
			if err != nil {
				return nil, err
			}
			lp.HasGroup, lp.Group = true, uint16(n)
		case "snaplen":
			n, err := num(32)
			if err != nil {
				return nil, err
			}
			lp.Snaplen = uint32(n)
		case "queue-threshold":
			n, err := num(16)
			if err != nil {
				return nil, err
			}
			lp.Threshold = uint16(n)
		case "flags":
			f, err := logFlags(o.Value)
			if err != nil {
				return nil, err
			}
			lp.Flags |= f
			hasFlags = true
		default:
			return nil, &Error{s.Pos, "unsupported: log " + o.Key}
		}
	}
	// nft's evaluation (stmt_evaluate_log): group excludes level and
	// flags; snaplen and queue-threshold need a group.
	switch {
	case lp.HasGroup && hasLevel:
		return nil, &Error{s.Pos, "log: level and group are mutually exclusive"}
	case lp.HasGroup && hasFlags:
		return nil, &Error{s.Pos, "log: flags and group are mutually exclusive"}
	case !lp.HasGroup && (lp.Snaplen != 0 || lp.Threshold != 0):
		return nil, &Error{s.Pos, "log: snaplen and queue-threshold need a group"}
	}
	return lp, nil
}

// logFlags reads `flags tcp sequence,options`, `flags ip options`, `flags
// skuid`, `flags ether`, `flags all`: a word after a comma belongs to the
// header named before it.
func logFlags(x ruleset.Expr) (uint8, error) {
	var items []ruleset.Expr
	if l, ok := x.(*ruleset.List); ok {
		items = l.Xs
	} else {
		items = []ruleset.Expr{x}
	}
	var f uint8
	hdr := ""
	for _, it := range items {
		var ws []string
		switch it := it.(type) {
		case *ruleset.Selector:
			ws = it.Words
		case *ruleset.Value:
			ws = strings.Fields(it.Text)
		default:
			return 0, &Error{it.Position(), "log flags: unsupported " + exprKind(it)}
		}
		if len(ws) == 2 {
			hdr, ws = ws[0], ws[1:]
		}
		if len(ws) != 1 {
			return 0, &Error{it.Position(), "log flags: unknown flag"}
		}
		w := ws[0]
		switch {
		case w == "all" && hdr == "":
			f |= logAll
		case w == "skuid" && hdr == "":
			f |= LogUID
		case w == "ether" && hdr == "":
			f |= LogMACDecod
		case hdr == "tcp" && w == "sequence":
			f |= LogTCPSeq
		case hdr == "tcp" && w == "options":
			f |= LogTCPOpt
		case hdr == "ip" && w == "options":
			f |= LogIPOpt
		default:
			return 0, &Error{it.Position(), "log flags: unknown flag " + strings.TrimSpace(hdr+" "+w)}
		}
	}
	return f, nil
}

// log hands the packet to the sink (nft_log_eval → nf_log_packet).
func (cx *evalCtx) log(lp *LogParams) {
	f := cx.e.logSink
	if f == nil {
		return
	}
	ev := &cx.r.logEv
	*ev = LogEvent{Packet: cx.p, Iifname: cx.m.Iifname, Mark: cx.mark, Hook: cx.hook, Params: lp}
	switch {
	case cx.m.Output:
		ev.Iifname, ev.Oifname, ev.Local = [16]byte{}, cx.m.Oifname, true
	case cx.hook == HookForward || cx.hook == HookPostrouting:
		// nf_log_dump_packet_common prints the hook's devices: a
		// forwarded packet has its output device from forward on, and
		// keeps its input device on postrouting (load.go, fIifname).
		ev.Oifname = cx.m.Oifname
	}
	f(ev)
}
