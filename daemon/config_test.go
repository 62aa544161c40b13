package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hare-fw/hare/conntrack"
)

const exampleConfig = "../configs/hare.toml"

// TestExampleConfig: the shipped example parses, shows every conntrack
// setting, and its values are the defaults (it documents them).
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(exampleConfig, data)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Ruleset.File = "../configs/rules.nft"
	want.Datapath.Interfaces = []string{}
	want.Path = exampleConfig
	if !reflect.DeepEqual(c, want) {
		t.Errorf("the example's values are not the defaults:\n got %+v\nwant %+v", c, want)
	}
	for _, n := range conntrack.SettingNames() {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(n) + ` = `).Match(data) {
			t.Errorf("conntrack setting %s is not in %s", n, exampleConfig)
		}
	}
}

// TestConfigEveryField sets every key to something other than its default.
func TestConfigEveryField(t *testing.T) {
	src := `
[datapath]
kind = "afpacket"
queues = "2-5"
hooks = ["input", "forward", "output"]
install_rules = false
notrack = false
max_queue_len = 4096
gso = false
interfaces = ["veth0", "veth1"]
pass_arp = false
pass_non_ip = true
defrag = false
ring = "v2"
ring_frames = 240
[ruleset]
file = "/x/rules.nft"
[workers]
count = 3
batch = 128
invalid = "accept"
reap_interval_ms = 250
reap_budget = 99
[control]
socket = "/tmp/h.sock"
group = "hare"
[metrics]
listen = "127.0.0.1:9108"
[log]
format = "json"
level = "debug"
pcap_dir = "/var/log/hare"
pcap_rotate_bytes = 1048576
pcap_keep = 9
[state]
file = "/var/lib/hare/ct.state"
[conntrack]
profile = "rfc"
nf_conntrack_tcp_timeout_established = 7440
udp_timeout = 200
tcp_be_liberal = true
checksum = false
max = 1000
proc_file = "/run/hare/nf_conntrack"
proc_interval = 5
`
	c, err := ParseConfig("every.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Datapath: DatapathConfig{Kind: "afpacket", Queues: "2-5", Hooks: []string{"input", "forward", "output"},
			MaxQueueLen: 4096, Interfaces: []string{"veth0", "veth1"}, PassNonIP: true, Ring: "v2", RingFrames: 240},
		Ruleset:   RulesetConfig{File: "/x/rules.nft"},
		Workers:   WorkersConfig{Count: 3, Batch: 128, Invalid: "accept", ReapInterval: 250, ReapBudget: 99},
		Control:   ControlConfig{Socket: "/tmp/h.sock", Group: "hare"},
		Metrics:   MetricsConfig{Listen: "127.0.0.1:9108"},
		Log:       LogConfig{Format: "json", Level: "debug", PcapDir: "/var/log/hare", PcapRotateBytes: 1 << 20, PcapKeep: 9},
		State:     StateConfig{File: "/var/lib/hare/ct.state"},
		Conntrack: conntrack.RFCSettings(),
		ProcFile:  "/run/hare/nf_conntrack", ProcInterval: 5 * time.Second,
		Path: "every.toml",
	}
	for _, kv := range [][2]string{{"tcp_timeout_established", "7440"}, {"udp_timeout", "200"}, {"tcp_be_liberal", "1"}, {"checksum", "0"}, {"max", "1000"}} {
		if err := want.Conntrack.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("\n got %+v\nwant %+v", c, want)
	}
	// The RFC profile is not the Linux one: the test above saw the
	// profile applied, not the defaults.
	if v, _ := c.Conntrack.Get("tcp_timeout_syn_sent"); v != 240 {
		t.Errorf("profile rfc: tcp_timeout_syn_sent %d, want 240 (RFC 5382 REQ-5)", v)
	}
}

// TestConfigErrors: unknown keys and bad values are refused with the
// file and line of the key.
func TestConfigErrors(t *testing.T) {
	base := "[ruleset]\nfile = \"r.nft\"\n"
	for _, tc := range []struct{ src, want string }{
		{base + "[datapth]\nkind = \"nfqueue\"\n", "c.toml:3: unknown key datapth"},
		{base + "[datapath]\nkind = \"nfqueue\"\nqueue = \"1\"\n", "c.toml:5: unknown key datapath.queue"},
		{base + "# comment\n\n[workers]\ncount = 1\n  batchsize = 2\n", "c.toml:7: unknown key workers.batchsize"},
		{"bogus = 1\n" + base, "c.toml:1: unknown key bogus"},
		{"log.formatt = \"json\"\n" + base, "c.toml:1: unknown key log.formatt"},
		{base + "[conntrack]\nmax = 10\ntcp_timeout_establshed = 5\n", `c.toml:5: unknown conntrack setting "tcp_timeout_establshed"`},
		{base + "[conntrack]\n\nudp_timeout = -1\n", "c.toml:5: setting udp_timeout"},
		{base + "[conntrack]\ntcp_loose = 2\n", "c.toml:4: setting tcp_loose"},
		{base + "[conntrack]\nprofile = \"bsd\"\n", `c.toml:4: conntrack profile bsd`},
		{base + "[conntrack]\nnf_conntrack_buckets = 65536\n", `c.toml:4: conntrack setting nf_conntrack_buckets: hare's table has no fixed bucket array`},
		{base + "[conntrack]\nhelper = 1\n", `c.toml:4: conntrack setting helper: hare has no helpers`},
		{base + "[datapath]\nkind = \"xdp\"\n", `c.toml:4: datapath.kind: "xdp"`},
		{base + "[datapath]\nqueues = \"3-1\"\n", `c.toml:4: datapath.queues: "3-1"`},
		{base + "[datapath]\nqueues = 3\n", "c.toml:4: datapath.queues: incompatible types: TOML value has type int64; destination has type string"},
		{base + "[datapath]\nhooks = [\"ingress\"]\n", `c.toml:4: datapath.hooks: unknown hook "ingress"`},
		{base + "[datapath]\nmax_queue_len = 0\n", `c.toml:4: datapath.max_queue_len: 0`},
		{base + "[datapath]\nkind = \"afpacket\"\ninterfaces = [\"a\"]\n", "c.toml:5: datapath.interfaces: a bridge needs exactly two"},
		{base + "[datapath]\nkind = \"afpacket\"\nfail_open = true\ninterfaces = [\"a\", \"b\"]\n", "c.toml:5: datapath.fail_open: the afpacket bridge always fails closed"},
		{base + "[datapath]\nkind = \"afpacket\"\ninterfaces = [\"a\", \"a\"]\n", "c.toml:5: datapath.interfaces: the two interfaces are the same"},
		{base + "[datapath]\nkind = \"afpacket\"\ninterfaces = [\"a\", \"b\"]\n\nring = \"v1\"\n", `c.toml:7: datapath.ring: "v1": not "v3"`},
		{base + "[datapath]\nkind = \"afpacket\"\ninterfaces = [\"a\", \"b\"]\nring = \"v2\"\nring_frames = 1\n", "c.toml:7: datapath.ring_frames: 1: not 0"},
		{base + "[datapath]\nkind = \"afpacket\"\ninterfaces = [\"a\", \"b\"]\nring_frames = 300\n", `c.toml:6: datapath.ring_frames: only a "v2" ring`},
		// 4096 blocks of 1 MiB (61,440 slots) reach 4 GiB, which
		// packet_set_ring refuses; 4095 blocks hold 61,425.
		{base + "[datapath]\nkind = \"afpacket\"\ninterfaces = [\"a\", \"b\"]\nring = \"v2\"\nring_frames = 61426\n", "c.toml:7: datapath.ring_frames: 61426: not 0 (the default) or between 2 and 61425"},
		{base + "[workers]\nbatch = 0\n", "c.toml:4: workers.batch: 0"},
		{base + "[workers]\ninvalid = \"maybe\"\n", `c.toml:4: workers.invalid: "maybe"`},
		{base + "[control]\nmode = \"0600\"\n", `c.toml:4: unknown key control.mode`},
		{base + "[log]\nformat = \"xml\"\n", `c.toml:4: log.format: "xml"`},
		{base + "[log]\nlevel = \"loud\"\n", `c.toml:4: log.level: "loud"`},
		{base + "[log]\npcap_rotate_bytes = 10\n", "c.toml:4: log.pcap_rotate_bytes: 10"},
		{"[datapath]\nkind = \"nfqueue\"\n", "c.toml:0: ruleset.file: missing"},
		{base + "[datapath\n", "c.toml:4:10: expected '.' or ']'"},
	} {
		_, err := ParseConfig("c.toml", []byte(tc.src))
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.src, tc.want)
			continue
		}
		got := err.Error()
		want := strings.Replace(tc.want, "c.toml:0: ", "c.toml: ", 1)
		if !strings.HasPrefix(got, want) {
			t.Errorf("%q:\n got %q\nwant %q…", tc.src, got, want)
		}
	}
}

// TestConntrackDefaultsAreLinux compares the default conntrack settings
// with a fresh network namespace's net.netfilter sysctls on this machine's
// kernel (the settings are per namespace). acct and timestamp differ on
// purpose (DIFFERENCES.md); nf_conntrack_max depends on the machine's
// memory and is not per namespace; events is 2 on Linux since 6.x ("on
// when someone listens", nf_conntrack_ecache.c), which is what hare's
// events = 1 does: events go to subscribers only.
func TestConntrackDefaultsAreLinux(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root for a network namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: no unshare")
	}
	out, err := exec.Command(unshare, "-n", "sh", "-c",
		"modprobe nf_conntrack 2>/dev/null; cd /proc/sys/net/netfilter && grep . nf_conntrack_*").Output()
	if err != nil || len(out) == 0 {
		t.Skipf("skipping: no conntrack sysctls (%v)", err)
	}
	skip := map[string]bool{"acct": true, "timestamp": true, "max": true, "events": true}
	def := DefaultConfig().Conntrack
	compared := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name = strings.TrimPrefix(filepath.Base(name), "nf_conntrack_")
		v, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			continue
		}
		if skip[name] {
			if _, known := def.Get(name); !known {
				t.Errorf("kernel sysctl nf_conntrack_%s: skipped but not a hare setting", name)
			}
			continue
		}
		got, known := def.Get(name)
		if !known {
			// Every sysctl hare has no setting for is refused with
			// a reason, not as unknown.
			if _, ok := unmodelled[name]; !ok {
				t.Errorf("kernel sysctl nf_conntrack_%s: neither a hare setting nor in unmodelled", name)
			}
			continue
		}
		compared++
		if got != v {
			t.Errorf("%s: hare default %d, this kernel %d", name, got, v)
		}
	}
	if compared < 20 {
		t.Errorf("only %d settings compared", compared)
	}
	t.Logf("%d conntrack defaults equal this kernel's", compared)
}

// TestSystemdUnit: systemd itself accepts the shipped unit (systemd-analyze
// verify; the binary path is pointed at an executable that exists here).
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("skipping: no systemd-analyze")
	}
	unit, err := os.ReadFile("../configs/hare.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hare.service")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(unit), "/usr/local/sbin/hare", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", p).CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
