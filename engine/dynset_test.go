package engine_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

const sec = int64(1e9)

func TestDynsetAddLookup(t *testing.T) {
	r := newRig(t, `table ip t {
	set seen { type ipv4_addr; size 2; flags dynamic; }
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr @seen counter drop
		tcp dport 22 add @seen { ip saddr } counter accept
		udp dport 53 delete @seen { ip daddr }
	}
}`)
	r.want("first ssh: added", tcp("10.0.0.1", "10.0.0.9", 1, 22, syn), 1, engine.Accept, r.h("in", 2))
	r.want("then seen", tcp("10.0.0.1", "10.0.0.9", 2, 80, syn), 2, engine.Drop, r.h("in", 1))
	r.want("second address", tcp("10.0.0.2", "10.0.0.9", 1, 22, syn), 3, engine.Accept, r.h("in", 2))
	r.want("full: the add breaks the rule", tcp("10.0.0.3", "10.0.0.9", 1, 22, syn), 4, engine.Accept, 0)
	r.want("not added", tcp("10.0.0.3", "10.0.0.9", 2, 80, syn), 5, engine.Accept, 0)
	r.want("delete 10.0.0.1", udp("10.0.0.8", "10.0.0.1", 1, 53), 6, engine.Accept, 0)
	r.want("deleted", tcp("10.0.0.1", "10.0.0.9", 3, 80, syn), 7, engine.Accept, 0)
	r.want("room again", tcp("10.0.0.3", "10.0.0.9", 3, 22, syn), 8, engine.Accept, r.h("in", 2))
	r.want("added", tcp("10.0.0.3", "10.0.0.9", 4, 80, syn), 9, engine.Drop, r.h("in", 1))
	r.noAllocs(tcp("10.0.0.3", "10.0.0.9", 5, 22, syn), tcp("10.0.0.5", "10.0.0.9", 5, 22, syn), udp("10.0.0.8", "10.0.0.1", 1, 53))
}

func TestDynsetTimeouts(t *testing.T) {
	r := newRig(t, `table inet t {
	set recent { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 10s; }
	set fixed { type ipv4_addr; flags timeout; elements = { 10.0.0.7 timeout 1m, 10.0.0.8 } }
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr @fixed counter drop
		tcp flags syn add @recent { ip saddr . tcp dport }
		tcp flags fin update @recent { ip saddr . tcp dport timeout 30s }
		ip saddr . tcp dport @recent counter drop
	}
}`)
	synA := tcp("10.0.0.1", "10.0.0.9", 1, 22, syn)
	ackA := tcp("10.0.0.1", "10.0.0.9", 1, 22, ack)
	finA := tcp("10.0.0.1", "10.0.0.9", 1, 22, packet.TCPFin|ack)
	r.want("declared element with timeout, first packet", tcp("10.0.0.7", "10.0.0.9", 1, 1, syn), 100*sec, engine.Drop, r.h("in", 1))
	r.want("added, then found", synA, 100*sec, engine.Drop, r.h("in", 4))
	r.want("present before the deadline", ackA, 109*sec, engine.Drop, r.h("in", 4))
	r.want("expired at the deadline", ackA, 110*sec, engine.Accept, 0)
	r.want("added again", synA, 111*sec, engine.Drop, r.h("in", 4))
	r.want("update: 30s from now", finA, 112*sec, engine.Drop, r.h("in", 4))
	r.want("add does not refresh", synA, 131*sec, engine.Drop, r.h("in", 4))
	r.want("still there", ackA, 141*sec, engine.Drop, r.h("in", 4))
	r.want("expired 30s after the update", ackA, 142*sec, engine.Accept, 0)
	r.want("declared element timed out after 1m", tcp("10.0.0.7", "10.0.0.9", 1, 1, ack), 160*sec, engine.Accept, 0)
	r.want("declared element without timeout, set without default", tcp("10.0.0.8", "10.0.0.9", 1, 1, ack), 1e6*sec, engine.Drop, r.h("in", 1))
	r.noAllocs(synA, finA, ackA)
}

func TestDynsetErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"set s { type ipv4_addr; }\nchain c { type filter hook input priority 0; add @s { ip saddr timeout 1s } }", "no timeout flag"},
		{"set s { type ipv4_addr; }\nchain c { type filter hook input priority 0; add @s { tcp dport } }", "does not hold keys of this type"},
		{"set s { type ipv4_addr; }\nchain c { type filter hook input priority 0; add @s { ip saddr limit rate 1/second } }", "unsupported: statement in add @s"},
		{"set s { type ipv4_addr; flags interval,timeout; elements = { 10.0.0.0/8 } }\nchain c { type filter hook input priority 0; }", "unsupported: ranges and prefixes"},
		{"set s { type ipv4_addr; size 1; elements = { 10.0.0.1, 10.0.0.2 } }\nchain c { type filter hook input priority 0; }", "more than its size"},
	} {
		_, err := compileString("table ip t {\n" + tc.src + "\n}\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q\n%s", err, tc.want, tc.src)
		}
	}
}

// TestDynsetConcurrent adds and looks up from several goroutines at once
// (run with -race): every address a worker added is found afterwards, and
// the set never holds more than its size.
func TestDynsetConcurrent(t *testing.T) {
	const workers, per = 4, 300
	src := `table ip t {
	set s { type ipv4_addr; size 1000; flags dynamic; }
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr @s counter drop
		add @s { ip saddr } counter accept
	}
}`
	base := newRig(t, src)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &rig{t: t, c: base.c, rs: base.rs, e: base.e, m: base.m}
			for i := range per {
				r.run(udp(fmt.Sprintf("10.%d.%d.%d", w, i/250, i%250+1), "10.9.9.9", 1, 2), 1)
			}
		}()
	}
	wg.Wait()
	cs := base.c.Counters()
	added, hits := cs[1].Packets, cs[0].Packets
	if added != 1000 || hits != 0 {
		t.Fatalf("%d added, %d hits; want 1000 added (the size), 0 hits", added, hits)
	}
	found := 0
	for w := range workers {
		for i := range per {
			if v, _ := base.run(udp(fmt.Sprintf("10.%d.%d.%d", w, i/250, i%250+1), "10.9.9.9", 1, 2), 2); v == engine.Drop {
				found++
			}
		}
	}
	if found != 1000 {
		t.Errorf("%d addresses found, want the 1000 added", found)
	}
}
