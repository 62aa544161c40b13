package nfqueue

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/datapath"
)

// Config says which queues hare reads and how the kernel treats them.
// The zero value of every field but Queues means the default noted.
type Config struct {
	// Queues is a queue number ("0") or an inclusive range ("0-3"); each
	// queue becomes one Port. The kernel spreads packets over a range by
	// a hash of the addresses (xt_NFQUEUE --queue-balance, nfqueue_hash),
	// which is symmetric, so both directions of a flow meet one worker.
	Queues string

	// MaxQueueLen is how many packets the kernel holds per queue waiting
	// for a verdict (NFQA_CFG_QUEUE_MAXLEN; default 1024, the kernel's
	// NFQNL_QMAX_DEFAULT). Beyond it the kernel drops (fail-closed) or
	// accepts (FailOpen) without asking hare.
	MaxQueueLen uint32
	// CopyRange is how many bytes of each packet the kernel copies to hare
	// (NFQA_CFG_PARAMS copy_range; default and maximum 65535, the whole
	// packet). The engine needs whole packets: a shorter copy range hides
	// payloads from payload matches and from reject's quoted packet.
	CopyRange uint32
	// FailOpen accepts packets the kernel cannot queue (the queue is full
	// or hare's socket buffer overflows: NFQA_CFG_F_FAIL_OPEN) and, with
	// InstallRules, adds --queue-bypass so that packets pass while no
	// hare is bound to the queue. False is fail-closed: such packets are
	// dropped, and while hare is not running nothing passes the hooks.
	FailOpen bool
	// GSO lets the kernel hand over GSO super-packets whole instead of
	// segmenting them first (NFQA_CFG_F_GSO). Faster, but then hare sees
	// packets longer than the MTU with unfinished checksums; off by default.
	GSO bool

	// Hooks are the hooks queued to hare when InstallRules is set
	// (datapath.HookInput, HookForward, HookOutput); empty means input
	// and forward.
	Hooks []datapath.Hook
	// InstallRules makes Open install the iptables/ip6tables rules that
	// queue the Hooks to the Queues (chain Chain in the filter tables) and
	// Close remove them. Without it the rules are the user's (see Rules).
	InstallRules bool
	// KeepRules makes Close leave the installed rules in place, so that
	// while no hare is bound the queues keep failing the configured way
	// (dropping, or passing with FailOpen's --queue-bypass) until the next
	// Open, which replaces them: for a restart or an upgrade. Without it
	// Close removes the rules and traffic then passes the hooks unqueued
	// and unfiltered by hare, fail-closed or not.
	KeepRules bool
	// Notrack makes Open install an nftables table (inet hare_raw) whose
	// prerouting and output chains at priority raw say notrack, keeping
	// the kernel's own conntrack out of the way; Close removes it.
	Notrack bool
	// Chain is the name of the iptables chain the rules go in (default
	// "HARE"); the notrack table is its lower-case name + "_raw".
	Chain string
	// InjectMark is the packet mark (SO_MARK) of packets hare injects (a
	// reject's RST or ICMP error). The installed rules let packets with
	// this mark pass unqueued, so that hare never sees its own replies
	// (default 0x68617265, "hare"). Users who write their own rules must
	// exempt it the same way.
	InjectMark uint32

	// Batch is the most packets a Read returns when the caller's batch has
	// no capacity yet (default 64).
	Batch int
	// ReadBuffer is the netlink socket's receive buffer in bytes
	// (SO_RCVBUFFORCE; default 8 MiB). Packets that overflow it are lost
	// to hare (dropped, or accepted with FailOpen) and counted as
	// KernelDrops.
	ReadBuffer int
}

// Defaults.
const (
	DefaultMaxQueueLen = 1024 // NFQNL_QMAX_DEFAULT
	DefaultCopyRange   = 0xffff
	DefaultChain       = "HARE"
	DefaultInjectMark  = 0x68617265
	DefaultBatch       = 64
	DefaultReadBuffer  = 8 << 20
)

// withDefaults returns c with its defaults filled in, and the first queue
// and the number of queues.
func (c Config) withDefaults() (Config, uint16, int, error) {
	first, n, err := ParseQueues(c.Queues)
	if err != nil {
		return c, 0, 0, err
	}
	if c.MaxQueueLen == 0 {
		c.MaxQueueLen = DefaultMaxQueueLen
	}
	if c.CopyRange == 0 || c.CopyRange > DefaultCopyRange {
		c.CopyRange = DefaultCopyRange
	}
	if len(c.Hooks) == 0 {
		c.Hooks = []datapath.Hook{datapath.HookInput, datapath.HookForward}
	}
	for _, h := range c.Hooks {
		if hookChain(h) == "" {
			return c, 0, 0, fmt.Errorf("nfqueue: hook %d cannot be queued by hare (input, forward or output)", h)
		}
	}
	if c.Chain == "" {
		c.Chain = DefaultChain
	}
	if !validName(c.Chain) {
		return c, 0, 0, fmt.Errorf("nfqueue: chain name %q: want letters, digits, '_' or '-', at most 28", c.Chain)
	}
	if c.InjectMark == 0 {
		c.InjectMark = DefaultInjectMark
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.ReadBuffer <= 0 {
		c.ReadBuffer = DefaultReadBuffer
	}
	return c, first, n, nil
}

// ParseQueues reads "N" or "N-M" (N <= M <= 65535) and returns the first
// queue and the number of queues.
func ParseQueues(s string) (first uint16, n int, err error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if err1 != nil || err2 != nil || a > b {
		return 0, 0, fmt.Errorf("nfqueue: queues %q: want a queue number or a range like 0-3", s)
	}
	return uint16(a), int(b-a) + 1, nil
}

// ParseHook reads a hook name as in a config file: input, forward or
// output.
func ParseHook(s string) (datapath.Hook, error) {
	switch s {
	case "input":
		return datapath.HookInput, nil
	case "forward":
		return datapath.HookForward, nil
	case "output":
		return datapath.HookOutput, nil
	}
	return 0, fmt.Errorf("nfqueue: hook %q: want input, forward or output", s)
}

func validName(s string) bool {
	if s == "" || len(s) > 28 { // XT_EXTENSION_MAXNAMELEN 29 with the NUL
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
