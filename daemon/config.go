package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/datapath/afpacket"
)

// Config is the daemon's configuration, read from a TOML file (LoadConfig;
// configs/hare.toml documents every key). The zero value is not useful:
// start from DefaultConfig, whose values mirror Linux where Linux has one.
type Config struct {
	Datapath  DatapathConfig `toml:"datapath"`
	Ruleset   RulesetConfig  `toml:"ruleset"`
	Workers   WorkersConfig  `toml:"workers"`
	Control   ControlConfig  `toml:"control"`
	Metrics   MetricsConfig  `toml:"metrics"`
	Log       LogConfig      `toml:"log"`
	State     StateConfig    `toml:"state"`
	Conntrack *conntrack.Settings
	// ProcFile ([conntrack] proc_file), when set, is a file the daemon
	// keeps holding the /proc/net/nf_conntrack view of its table, for
	// tools that want a path: rewritten atomically (a new file renamed
	// over it) every ProcInterval ([conntrack] proc_interval, seconds,
	// default 10) and at stop (procfile.go).
	ProcFile     string
	ProcInterval time.Duration

	// Path is the file the configuration was read from ("" for
	// DefaultConfig).
	Path string
}

// DatapathConfig is the [datapath] section: where packets come from. The
// datapath packages read the keys of their kind.
type DatapathConfig struct {
	// Kind is "nfqueue" or "afpacket".
	Kind string `toml:"kind"`

	// NFQUEUE: the queue numbers ("0" or "0-3"), one worker per queue;
	// FailOpen accepts packets the kernel cannot queue (a full queue, no
	// listener: NFQA_CFG_F_FAIL_OPEN, iptables --queue-bypass) instead
	// of dropping them; Hooks are the netfilter hooks whose packets are
	// queued ("forward", "input", "output"); InstallRules makes the
	// datapath install its queue (and notrack) rules. A stop removes
	// them when FailOpen (traffic then passes unfiltered while hare is
	// down) and keeps them otherwise (fail-closed: with no listener and
	// no --queue-bypass the kernel drops what the hooks queue until the
	// next start replaces them; hare run --remove-rules lifts them).
	// The AF_PACKET bridge cannot fail open (nothing is bridged while
	// hare is down), so FailOpen is refused there.
	Queues       string   `toml:"queues"`
	FailOpen     bool     `toml:"fail_open"`
	Hooks        []string `toml:"hooks"`
	InstallRules bool     `toml:"install_rules"`

	// NFQUEUE: Notrack installs, with InstallRules, the nftables table
	// whose raw-priority notrack rules keep the kernel's own conntrack
	// out of the way; MaxQueueLen is how many packets the kernel holds
	// per queue waiting for hare (NFQA_CFG_QUEUE_MAXLEN).
	Notrack     bool   `toml:"notrack"`
	MaxQueueLen uint32 `toml:"max_queue_len"`
	// NFQUEUE: GSO lets the kernel queue GSO super-packets whole
	// (NFQA_CFG_F_GSO) instead of segmenting them first: one verdict per
	// super-packet, as the kernel's own nftables and conntrack judge and
	// count a GRO/GSO skb once. Their transport checksum is not computed
	// yet (datapath.Packet.CsumPartial), and conntrack takes it as good,
	// as Linux does. Default on.
	GSO bool `toml:"gso"`

	// AF_PACKET: the two interfaces bridged; PassARP lets ARP through
	// without a verdict (a bridge without ARP is no bridge), PassNonIP
	// every other frame that is neither IPv4 nor IPv6 (LLDP, STP…);
	// Defrag has the kernel reassemble IPv4 fragments before the workers
	// see them (PACKET_FANOUT_FLAG_DEFRAG).
	Interfaces []string `toml:"interfaces"`
	PassARP    bool     `toml:"pass_arp"`
	PassNonIP  bool     `toml:"pass_non_ip"`
	Defrag     bool     `toml:"defrag"`

	// AF_PACKET: Ring is the receive ring kind, "v3" (TPACKET_V3 blocks,
	// the default: throughput) or "v2" (TPACKET_V2 frame slots: each
	// frame handed over at once, about 1 ms less per direction at low
	// rates; afpacket.Ring); RingFrames the slots of a "v2" ring per
	// socket (0: afpacket's default, 120).
	Ring       string `toml:"ring"`
	RingFrames int    `toml:"ring_frames"`
}

// RulesetConfig is the [ruleset] section.
type RulesetConfig struct {
	// File is the nftables ruleset (nft -f syntax) the daemon enforces.
	// A relative path is relative to the configuration file's directory
	// (as nft's include resolves against the including file), so that
	// the example hare.toml and rules.nft work both from configs/ and
	// once installed side by side in /etc/hare.
	File string `toml:"file"`
}

// WorkersConfig is the [workers] section.
type WorkersConfig struct {
	// Count is the number of fanout sockets of an AF_PACKET datapath (an
	// NFQUEUE datapath has one worker per queue); 0 means one per CPU.
	Count int `toml:"count"`
	// Batch is the most packets a worker reads at once.
	Batch int `toml:"batch"`
	// Invalid is what becomes of a packet hare cannot decode as IP
	// (truncated, bad header): "drop" (the default, counted by reason)
	// or "accept".
	Invalid string `toml:"invalid"`
	// ReapInterval is how often, in milliseconds, expired connections
	// are removed (the kernel's gc worker runs every HZ/50 to a second),
	// and ReapBudget how many table slots one pass inspects at most.
	ReapInterval int `toml:"reap_interval_ms"`
	ReapBudget   int `toml:"reap_budget"`
}

// ControlConfig is the [control] section: the control API's unix socket
// (package control), "" for none. The socket has mode 0600 (root only)
// or, with Group (a name or number), is owned by that group with mode
// 0660 so that its members may use it.
type ControlConfig struct {
	Socket string `toml:"socket"`
	Group  string `toml:"group"`
}

// MetricsConfig is the [metrics] section.
type MetricsConfig struct {
	// Listen is the Prometheus endpoint's address ("127.0.0.1:9108");
	// "" turns it off.
	Listen string `toml:"listen"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	Format string `toml:"format"` // "text" or "json"
	Level  string `toml:"level"`  // "debug", "info", "warn", "error"
	// PcapDir is where packets of `log group N` statements go: one
	// pcapng file per group, group-N.pcapng, rotated when it reaches
	// PcapRotateBytes (the old ones renamed group-N.pcapng.1, .2… and
	// only PcapKeep of them kept). "" turns it off.
	PcapDir         string `toml:"pcap_dir"`
	PcapRotateBytes int64  `toml:"pcap_rotate_bytes"`
	PcapKeep        int    `toml:"pcap_keep"`
}

// StateConfig is the [state] section.
type StateConfig struct {
	// File is where the connection table is saved on stop and restored
	// from on start; "" turns it off.
	File string `toml:"file"`
}

// DefaultConfig returns the configuration an empty file gives.
func DefaultConfig() *Config {
	return &Config{
		Datapath: DatapathConfig{Kind: "nfqueue", Queues: "0", Hooks: []string{"forward"}, InstallRules: true, Notrack: true,
			MaxQueueLen: 1024, GSO: true, PassARP: true, Defrag: true, Ring: "v3"},
		Workers: WorkersConfig{Batch: 64, Invalid: "drop", ReapInterval: 100, ReapBudget: 1024},
		Control: ControlConfig{Socket: control.DefaultSocket},
		Log:     LogConfig{Format: "text", Level: "info", PcapRotateBytes: 16 << 20, PcapKeep: 4},
		// Linux's defaults (conntrack.DefaultSettings).
		Conntrack:    conntrack.DefaultSettings(),
		ProcInterval: 10 * time.Second,
	}
}

// ConfigError is a configuration mistake and where it is.
type ConfigError struct {
	File string
	Line int // 0 when the mistake is not on one line
	Col  int
	Msg  string
}

func (e *ConfigError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// fileConfig is what the TOML decoder fills: Config plus the [conntrack]
// section, whose keys are the conntrack setting names and are checked by
// conntrack.Settings.Set.
type fileConfig struct {
	Config
	Conntrack map[string]any `toml:"conntrack"`
}

// LoadConfig reads and checks the configuration file at path. Every
// mistake is a *ConfigError naming the file and line.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// ParseConfig reads a configuration from data; name is the file's name
// for error messages.
func ParseConfig(name string, data []byte) (*Config, error) {
	fc := fileConfig{Config: *DefaultConfig()}
	md, err := toml.Decode(string(data), &fc)
	if err != nil {
		var pe toml.ParseError
		var ppe *toml.ParseError
		switch {
		case errors.As(err, &pe):
		case errors.As(err, &ppe):
			pe = *ppe
		default:
			return nil, decodeError(name, err)
		}
		if pe.Position.Line > 0 {
			return nil, &ConfigError{name, pe.Position.Line, pe.Position.Col, pe.Message}
		}
		return nil, &ConfigError{File: name, Msg: err.Error()}
	}
	lines := newKeyLines(data)
	for _, k := range md.Undecoded() {
		if len(k) >= 1 && k[0] == "conntrack" {
			continue // checked below, setting by setting
		}
		return nil, &ConfigError{File: name, Line: lines.find(k), Msg: "unknown key " + k.String()}
	}
	c := &fc.Config
	c.Path = name
	if c.Ruleset.File != "" && !filepath.IsAbs(c.Ruleset.File) {
		c.Ruleset.File = filepath.Join(filepath.Dir(name), c.Ruleset.File)
	}
	if err := c.setConntrack(fc.Conntrack, name, lines); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		err.File = name
		if err.Line == 0 && err.key != nil {
			err.Line = lines.find(err.key)
		}
		return nil, &err.ConfigError
	}
	return c, nil
}

// typeErr is how the decoder words a value of the wrong type; its line is
// only in the text.
var typeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// decodeError turns a decoder error that is not a toml.ParseError into a
// ConfigError with its line.
func decodeError(name string, err error) *ConfigError {
	m := typeErr.FindStringSubmatch(err.Error())
	if m == nil {
		return &ConfigError{File: name, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	return &ConfigError{File: name, Line: line, Msg: m[2] + ": " + m[3]}
}

// setConntrack applies the [conntrack] section: "profile" ("linux", the
// default, or "rfc": conntrack.RFCSettings) first, then every setting by
// its Linux sysctl name, with or without the nf_conntrack_ prefix
// (tcp_timeout_established or nf_conntrack_tcp_timeout_established).
// Switches take true/false or 0/1.
func (c *Config) setConntrack(sec map[string]any, name string, lines *keyLines) error {
	s := conntrack.DefaultSettings()
	if p, ok := sec["profile"]; ok {
		switch p {
		case "linux":
		case "rfc":
			s = conntrack.RFCSettings()
		default:
			return &ConfigError{File: name, Line: lines.find(toml.Key{"conntrack", "profile"}), Msg: fmt.Sprintf("conntrack profile %v: not \"linux\" or \"rfc\"", p)}
		}
	}
	c.ProcInterval = 10 * time.Second
	// In file order, so that the first mistake is the one reported.
	for _, k := range lines.keysOf("conntrack", sec) {
		bad := func(msg string) error {
			return &ConfigError{File: name, Line: lines.find(toml.Key{"conntrack", k}), Msg: "conntrack " + k + ": " + msg}
		}
		switch k {
		case "profile":
			continue
		case "proc_file":
			p, ok := sec[k].(string)
			if !ok || p == "" {
				return bad("not a file name")
			}
			c.ProcFile = p
			continue
		case "proc_interval":
			n, ok := sec[k].(int64)
			if !ok || n < 1 || n > 86400 {
				return bad("not a number of seconds from 1 to 86400")
			}
			c.ProcInterval = time.Duration(n) * time.Second
			continue
		}
		var text string
		switch v := sec[k].(type) {
		case int64:
			text = strconv.FormatInt(v, 10)
		case bool:
			text = "0"
			if v {
				text = "1"
			}
		default:
			text = fmt.Sprint(v)
		}
		if why, ok := unmodelled[strings.TrimPrefix(k, "nf_conntrack_")]; ok {
			return &ConfigError{File: name, Line: lines.find(toml.Key{"conntrack", k}), Msg: "conntrack setting " + k + ": " + why}
		}
		if err := s.Set(k, text); err != nil {
			return &ConfigError{File: name, Line: lines.find(toml.Key{"conntrack", k}), Msg: err.Error()}
		}
	}
	c.Conntrack = s
	return nil
}

// unmodelled are net.netfilter.nf_conntrack_* sysctls hare has no setting
// for, with why: a file copied from a sysctl.conf gets a clear refusal
// rather than "unknown".
var unmodelled = map[string]string{
	"buckets":    "hare's table has no fixed bucket array (its shards grow with the entries); remove the key",
	"count":      "read-only in Linux too (the number of entries)",
	"expect_max": "hare has no helpers and expectations yet (DIFFERENCES.md)",
	"helper":     "hare has no helpers and expectations yet (DIFFERENCES.md)",
}

// checkError is a ConfigError found after decoding, with the key it is
// about, whose line ParseConfig looks up.
type checkError struct {
	ConfigError
	key toml.Key
}

func bad(key toml.Key, format string, args ...any) *checkError {
	return &checkError{ConfigError{Msg: key.String() + ": " + fmt.Sprintf(format, args...)}, key}
}

// check validates values the decoder cannot.
func (c *Config) check() *checkError {
	d := &c.Datapath
	switch d.Kind {
	case "nfqueue":
		if _, _, err := ParseQueues(d.Queues); err != nil {
			return bad(toml.Key{"datapath", "queues"}, "%v", err)
		}
		for _, h := range d.Hooks {
			switch h {
			case "input", "forward", "output":
			default:
				return bad(toml.Key{"datapath", "hooks"}, "unknown hook %q (input, forward, output)", h)
			}
		}
		if len(d.Hooks) == 0 {
			return bad(toml.Key{"datapath", "hooks"}, "no hook: nothing would be queued")
		}
		if d.MaxQueueLen == 0 {
			return bad(toml.Key{"datapath", "max_queue_len"}, "0: the kernel would queue nothing")
		}
	case "afpacket":
		if d.FailOpen {
			return bad(toml.Key{"datapath", "fail_open"}, "the afpacket bridge always fails closed: while hare is down nothing is bridged")
		}
		if len(d.Interfaces) != 2 {
			return bad(toml.Key{"datapath", "interfaces"}, "a bridge needs exactly two interfaces, not %d", len(d.Interfaces))
		}
		for _, n := range d.Interfaces {
			if n == "" || len(n) > 15 {
				return bad(toml.Key{"datapath", "interfaces"}, "interface name %q: not 1 to 15 bytes (IFNAMSIZ)", n)
			}
		}
		if d.Interfaces[0] == d.Interfaces[1] {
			return bad(toml.Key{"datapath", "interfaces"}, "the two interfaces are the same")
		}
		if d.Ring != "v3" && d.Ring != "v2" {
			return bad(toml.Key{"datapath", "ring"}, "%q: not \"v3\" (TPACKET_V3, throughput) or \"v2\" (TPACKET_V2, latency)", d.Ring)
		}
		if d.RingFrames != 0 && (d.RingFrames < 2 || d.RingFrames > afpacket.MaxFrames) {
			return bad(toml.Key{"datapath", "ring_frames"}, "%d: not 0 (the default) or between 2 and %d (the kernel's largest ring)", d.RingFrames, afpacket.MaxFrames)
		}
		if d.RingFrames != 0 && d.Ring != "v2" {
			return bad(toml.Key{"datapath", "ring_frames"}, "only a \"v2\" ring has frame slots (ring = %q)", d.Ring)
		}
	default:
		return bad(toml.Key{"datapath", "kind"}, "%q: not \"nfqueue\" or \"afpacket\"", d.Kind)
	}
	if c.Ruleset.File == "" {
		return bad(toml.Key{"ruleset", "file"}, "missing: the daemon needs a ruleset")
	}
	w := &c.Workers
	switch {
	case w.Count < 0 || w.Count > 1024:
		return bad(toml.Key{"workers", "count"}, "%d: not between 0 and 1024", w.Count)
	case w.Batch < 1 || w.Batch > 4096:
		return bad(toml.Key{"workers", "batch"}, "%d: not between 1 and 4096", w.Batch)
	case w.Invalid != "drop" && w.Invalid != "accept":
		return bad(toml.Key{"workers", "invalid"}, "%q: not \"drop\" or \"accept\"", w.Invalid)
	case w.ReapInterval < 1 || w.ReapInterval > 60000:
		return bad(toml.Key{"workers", "reap_interval_ms"}, "%d: not between 1 and 60000", w.ReapInterval)
	case w.ReapBudget < 1:
		return bad(toml.Key{"workers", "reap_budget"}, "%d: not positive", w.ReapBudget)
	}
	l := &c.Log
	if l.Format != "text" && l.Format != "json" {
		return bad(toml.Key{"log", "format"}, "%q: not \"text\" or \"json\"", l.Format)
	}
	if _, err := ParseLevel(l.Level); err != nil {
		return bad(toml.Key{"log", "level"}, "%v", err)
	}
	if l.PcapRotateBytes < 4096 {
		return bad(toml.Key{"log", "pcap_rotate_bytes"}, "%d: less than 4096", l.PcapRotateBytes)
	}
	if l.PcapKeep < 0 || l.PcapKeep > 1000 {
		return bad(toml.Key{"log", "pcap_keep"}, "%d: not between 0 and 1000", l.PcapKeep)
	}
	return nil
}

// ParseQueues reads an NFQUEUE queue range, "N" or "FIRST-LAST"
// (iptables --queue-num / --queue-balance), and returns its bounds.
func ParseQueues(s string) (first, last uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	f, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	l, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if err1 != nil || err2 != nil || l < f {
		return 0, 0, fmt.Errorf("%q: not a queue number or range such as \"0-3\" (0 to 65535)", s)
	}
	return uint16(f), uint16(l), nil
}

// WorkerCount returns the number of workers c asks for: [workers] count,
// or one per CPU (GOMAXPROCS). NFQUEUE datapaths have one per queue
// instead.
func (c *Config) WorkerCount() int {
	if c.Workers.Count > 0 {
		return c.Workers.Count
	}
	return runtime.GOMAXPROCS(0)
}
