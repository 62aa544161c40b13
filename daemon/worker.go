package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/datapath"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/metrics"
	"github.com/hare-fw/hare/packet"
)

// Worker decides the packets of one datapath.Port. It owns everything a
// packet touches except the engine (its ruleset is swapped atomically) and
// the connection table (sharded, safe for concurrent use): the batch, the
// decoded packet, the engine's Meta and Result, its reassembler and its
// interface name cache. Its loop allocates nothing per packet.
type Worker struct {
	port   datapath.Port
	eng    *engine.Engine
	now    func() int64 // the table clock, read once per batch
	batch  datapath.Batch
	p      packet.Parsed
	whole  packet.Parsed // a datagram defrag completed
	meta   engine.Meta
	res    engine.Result
	defrag *defrag.Reassembler
	ifs    *ifNames
	ifGen  *atomic.Uint64 // bumped to make workers forget interface names
	seen   uint64
	// inBatch is set while the worker holds a batch (Stop waits for it).
	inBatch atomic.Bool
	reject  []byte // the reject reply being built (BuildReject), 1280 bytes
	pols    *atomic.Pointer[policy]
	pol     *policy     // pols' value for the current batch
	tr      tracer      // the trace stream's side (trace.go)
	refused *fragMemory // datagrams whose fragments are dropped (fragmem.go)
	// hold keeps the fragments of incomplete datagrams when the port
	// can send them later (fwd); nil otherwise (fraghold.go).
	hold    *fragHold
	fwd     datapath.Forwarder
	log     *slog.Logger // for failing ports and log_invalid; nil in tests
	table   *conntrack.Table
	ctSet   *conntrack.Settings // the settings logInv was read from
	logInv  int64               // conntrack log_invalid: protocol whose invalid packets are logged, 255 all, 0 none
	fragTTL int64               // how long refused remembers one: the longer reassembly timeout
	c       counts
}

// policy is what the configuration says about packets the ruleset does not
// see. It is swapped whole on reload.
type policy struct {
	acceptInvalid bool // [workers] invalid = "accept"
	passNonIP     bool // [datapath] pass_non_ip
}

// Extras are a worker's counts that package metrics does not keep.
type Extras struct {
	Injected uint64 // reject replies handed to the datapath
	NotIP    uint64 // frames without an IP header (passed or dropped by pass_non_ip)
	// FragHeld are fragments held until their datagram is whole
	// (fraghold.go), or let through while it is incomplete (a port that
	// cannot send later).
	FragHeld uint64
	// FragForwarded are held fragments sent with their accepted datagram;
	// FragPoolFull, fragments dropped because the hold pool was full.
	FragForwarded uint64
	FragPoolFull  uint64
	Errors        uint64 // failed Read, Done, Inject or Forward
}

// counts are a worker's counters: metrics.Counters (packets and bytes by
// verdict, drops by reason…) and the Extras, counted with plain increments
// and published once per batch, so that counting costs no atomic
// instruction per packet.
type counts struct {
	m   *metrics.Counters
	x   Extras // the worker's own
	pub Extras // published: accessed with sync/atomic only
}

func (c *counts) publish() {
	c.m.Batch()
	c.m.Publish()
	atomic.StoreUint64(&c.pub.Injected, c.x.Injected)
	atomic.StoreUint64(&c.pub.NotIP, c.x.NotIP)
	atomic.StoreUint64(&c.pub.FragHeld, c.x.FragHeld)
	atomic.StoreUint64(&c.pub.FragForwarded, c.x.FragForwarded)
	atomic.StoreUint64(&c.pub.FragPoolFull, c.x.FragPoolFull)
	atomic.StoreUint64(&c.pub.Errors, c.x.Errors)
}

// Counters returns the worker's counters for package metrics (Snapshot
// reads them from any goroutine).
func (w *Worker) Counters() *metrics.Counters { return w.c.m }

// Extras returns the worker's other counts, as of its last batch.
func (w *Worker) Extras() Extras {
	p := &w.c.pub
	return Extras{Injected: atomic.LoadUint64(&p.Injected), NotIP: atomic.LoadUint64(&p.NotIP),
		FragHeld: atomic.LoadUint64(&p.FragHeld), FragForwarded: atomic.LoadUint64(&p.FragForwarded),
		FragPoolFull: atomic.LoadUint64(&p.FragPoolFull), Errors: atomic.LoadUint64(&p.Errors)}
}

// Port returns the worker's datapath port.
func (w *Worker) Port() datapath.Port { return w.port }

// workerConfig is what NewWorker needs besides the port.
type workerConfig struct {
	eng    *engine.Engine
	now    func() int64
	batch  int
	defrag defrag.Config
	ifDev  func(int) (ifDev, bool) // nil: ask the kernel
	ifGen  *atomic.Uint64
	pol    *atomic.Pointer[policy]
	trace  *control.TraceHub // nil: no trace stream
	index  int               // the worker's number, for trace ids
	log    *slog.Logger
	table  *conntrack.Table // for its settings (log_invalid); nil: none
}

func newWorker(port datapath.Port, c workerConfig) *Worker {
	w := &Worker{
		port:    port,
		eng:     c.eng,
		now:     c.now,
		batch:   datapath.Batch{Pkts: make([]datapath.Packet, 0, c.batch)},
		defrag:  defrag.New(c.defrag),
		ifs:     newIfNames(c.ifDev),
		ifGen:   c.ifGen,
		reject:  make([]byte, 0, 1280),
		pols:    c.pol,
		tr:      tracer{hub: c.trace, idBase: uint32(c.index) << 24},
		c:       counts{m: metrics.NewCounters()},
		refused: new(fragMemory),
		log:     c.log,
		table:   c.table,
		fragTTL: max(c.defrag.Timeout4, c.defrag.Timeout6),
	}
	if w.ifGen == nil {
		w.ifGen = new(atomic.Uint64)
	}
	if fw, ok := port.(datapath.Forwarder); ok && fw.HoldMax() != 0 {
		// The pool holds what the reassembler holds: ipfrag_high_thresh
		// and frag6_high_thresh bytes (defrag's defaults when unset).
		def := defrag.DefaultConfig()
		high := c.defrag.High4
		if high <= 0 {
			high = def.High4
		}
		if c.defrag.High6 <= 0 {
			high += def.High6
		} else {
			high += c.defrag.High6
		}
		w.fwd, w.hold = fw, newFragHold(high)
		if m := fw.HoldMax(); m > 0 {
			w.hold.maxFrags = min(w.hold.maxFrags, m)
		}
		w.defrag.OnDiscard(w.heldDiscarded)
	}
	return w
}

// Run reads and decides batches until the port is closed (it then returns
// nil) or stop is set after a batch. Other errors of Read are counted and
// the loop goes on: one bad netlink message must not stop the firewall.
func (w *Worker) Run(stop *atomic.Bool) error {
	var lastLog time.Time
	failures := 0 // in a row
	for !stop.Load() {
		err := w.step()
		if err == nil {
			failures = 0
			continue
		}
		if errors.Is(err, datapath.ErrClosed) {
			return nil
		}
		w.c.x.Errors++
		w.c.publish()
		// A port that keeps failing must not spin: back off up to
		// 100 ms, and log at most once a second.
		failures++
		if w.log != nil && time.Since(lastLog) >= time.Second {
			w.log.Error("datapath port", "worker", w.tr.idBase>>24, "error", err.Error(), "failures_in_a_row", failures)
			lastLog = time.Now()
		}
		if failures > 1 {
			time.Sleep(min(time.Duration(failures)*time.Millisecond, 100*time.Millisecond))
		}
	}
	return nil
}

// step reads one batch, decides it and hands it back.
func (w *Worker) step() error {
	b := &w.batch
	if err := w.port.Read(b); err != nil {
		return err
	}
	w.inBatch.Store(true)
	defer w.inBatch.Store(false)
	now := w.now()
	w.pol = w.pols.Load()
	if w.table != nil {
		if st := w.table.Settings(); st != w.ctSet {
			w.ctSet = st
			w.logInv, _ = st.Get("log_invalid")
		}
	}
	if g := w.ifGen.Load(); g != w.seen {
		w.ifs.refresh()
		w.seen = g
	}
	for i := range b.Pkts {
		w.decide(&b.Pkts[i], now)
	}
	// Fragments held too long go; the reassembler is this worker's alone.
	w.defrag.Expire(now)
	w.c.publish()
	return w.port.Done(b)
}

// decide sets pk's verdict (and mark).
func (w *Worker) decide(pk *datapath.Packet, now int64) {
	pol, c := w.pol, &w.c
	if pk.L3 < 0 || pk.L3 > len(pk.Data) {
		// A frame that is not IP: nf_tables' ip, ip6 and inet families
		// never see it.
		c.x.NotIP++
		w.verdict(pk, pol.passNonIP, len(pk.Data), metrics.DropNotIP)
		return
	}
	size := len(pk.Data) - pk.L3 // layer-3 bytes, as the counters count
	p := &w.p
	p.DecodeIP(pk.Data[pk.L3:])
	// A GSO super-packet's checksum is finished only at segmentation;
	// Linux's conntrack takes it as good (nf_ip_checksum,
	// nf_ip6_checksum: skb_csum_unnecessary), and so does hare's.
	p.CsumUnnecessary = pk.CsumPartial
	if p.IPVersion == 0 {
		// Linux drops a packet whose IP header is bad before any hook
		// (ip_rcv_core, ipv6_rcv: IPSTATS_MIB_INHDRERRORS); the policy
		// decides here because a bridge may prefer to pass it.
		c.m.Undecodable(p.Reason)
		w.verdict(pk, pol.acceptInvalid, size, metrics.DropUndecodable)
		return
	}
	// nf_defrag_ipv4 / nf_defrag_ipv6 run before conntrack. On a port
	// that can send later (both datapaths are), a fragment of an
	// incomplete datagram is held (fraghold.go) and the datagram's
	// fragments leave with its verdict, as nf_ct_frag6_gather and
	// ip_defrag hold them. On one that cannot, it goes on unjudged: the
	// datagram's verdict falls on the fragment that completes it, and a
	// receiver cannot reassemble a datagram one fragment of which was
	// dropped (fragmem.go).
	var fk fragKey
	hold := w.hold != nil
	remember := p.Frag.IsFragment() && !hold
	if remember {
		fk = fragKeyOf(p)
		if w.refused.refused(fk, now) {
			w.verdict(pk, false, size, metrics.DropFragment)
			return
		}
	}
	var tag int32 // the held fragments of the datagram this one completes
	res, out := w.defrag.Add(p, now, 0)
	switch res {
	case defrag.Held:
		if hold {
			w.holdFragment(pk, size)
			return
		}
		c.x.FragHeld++
		w.verdict(pk, true, size, 0)
		return
	case defrag.Dropped:
		c.m.FragmentDropped(w.defrag.DropReason())
		if remember {
			w.refused.refuse(fk, now+w.fragTTL)
		}
		w.verdict(pk, false, size, metrics.DropFragment)
		return
	case defrag.PassedUntracked:
		if hold {
			// Linux lets it go on untracked, but no queue will ever
			// deliver its datagram whole: a first fragment without the
			// whole header chain (RFC 7112 §5, RFC 8200 §4.5:
			// ipv6frag_thdr_truncated) or a non-last fragment whose
			// length is not a multiple of 8 (RFC 8200 §4.5, which
			// says to discard it). Its held fragments go with it.
			c.m.FragmentDropped(w.defrag.DropReason())
			w.verdict(pk, false, size, metrics.DropFragment)
			return
		}
	case defrag.Complete:
		if hold {
			tag = w.defrag.Tag()
		}
		w.whole.DecodeIP(out)
		p = &w.whole
	}
	m := &w.meta
	idev, odev := w.ifs.dev(pk.InIf), w.ifs.dev(pk.OutIf)
	m.Iif, m.Iifname, m.IifType = int32(pk.InIf), idev.name, idev.typ
	m.Oif, m.Oifname, m.OifType = int32(pk.OutIf), odev.name, odev.typ
	m.Mark = pk.Mark
	// A bridge forwards every frame; NFQUEUE says which hook it took the
	// packet from. Engine.Packet runs the input path unless Forward or
	// Output (a packet this host made: output and postrouting chains).
	m.Forward = pk.Hook == datapath.HookForward || pk.Link == datapath.LinkEthernet
	m.Output = pk.Hook == datapath.HookOutput && pk.Link == datapath.LinkIP
	r := &w.res
	tracing := w.tr.start(m)
	w.eng.Packet(p, m, now, r)
	if tracing {
		w.tr.publish(w.eng, p, m)
	}
	if w.logInv != 0 && r.CT.State == conntrack.StateInvalid && !r.Untracked &&
		(w.logInv == 255 || w.logInv == int64(p.Proto)) {
		w.logInvalid(p, m, r)
	}
	c.m.Decided(r, size)
	pk.SetMark = false
	pk.Verdict = datapath.Drop
	if remember && r.Verdict != engine.Accept {
		w.refused.refuse(fk, now+w.fragTTL)
	}
	if tag != 0 {
		w.releaseHeld(tag, r)
	}
	switch r.Verdict {
	case engine.Accept:
		pk.Verdict = datapath.Accept
	case engine.Reject:
		if ip := engine.BuildReject(w.reject[:0], p, r.Reject); len(ip) > 0 {
			if err := w.port.Inject(pk, ip); err != nil {
				c.x.Errors++
			} else {
				c.x.Injected++
			}
		}
	}
	if r.Mark != pk.Mark {
		pk.SetMark, pk.NewMark = true, r.Mark
	}
}

// logInvalid logs a packet conntrack found invalid, as Linux does when
// net.netfilter.nf_conntrack_log_invalid names its protocol
// (nf_l4proto_log_invalid: "nf_ct_proto_N: REASON " and the packet as
// nf_log_syslog prints it). The reason is hare's wording of the kernel's.
// Allocates; only for the packets logged.
func (w *Worker) logInvalid(p *packet.Parsed, m *engine.Meta, r *engine.Result) {
	if w.log == nil {
		return
	}
	prefix := fmt.Sprintf("nf_ct_proto_%d: %s ", p.Proto, r.CT.Reason)
	ev := engine.LogEvent{Packet: p, Iifname: m.Iifname, Mark: m.Mark, Hook: engine.HookPrerouting,
		Params: &engine.LogParams{Prefix: prefix, Level: 4}}
	w.log.Warn("conntrack invalid", "line", string(ev.AppendText(nil)))
}

// verdict sets the verdict of pk, a packet the engine does not judge, and
// counts it (its size bytes, and why if it is dropped).
func (w *Worker) verdict(pk *datapath.Packet, accept bool, size int, why metrics.DropReason) {
	pk.SetMark = false
	if accept {
		pk.Verdict = datapath.Accept
		w.c.m.Packet(metrics.VerdictAccept, size)
	} else {
		pk.Verdict = datapath.Drop
		w.c.m.Packet(metrics.VerdictDrop, size)
		w.c.m.Drop(why)
	}
}
