package engine_test

import (
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// statefulRuleset uses every statement of stmt.go on every packet.
const statefulRuleset = `table inet t {
	counter c { }
	quota q { over 10 mbytes }
	limit l { rate 100/second }
	chain raw {
		type filter hook prerouting priority raw;
		ct zone set 0 meta mark set meta mark | 0x1
	}
	chain pre {
		type filter hook prerouting priority -150;
		ct mark set meta mark & 0xff | 0x100 ct label set 2
		meta mark set ct mark meta priority set 1:1
		limit rate 1000/second burst 50 packets counter name "c"
		limit rate over 1 mbytes/second burst 10 kbytes log prefix "over: " flags all
		quota name "q" limit name "l" log group 2 prefix "q"
		quota 1 mbytes counter
	}
	chain in {
		type filter hook input priority 0;
		log prefix "hare: " level info
		ct state established accept
	}
}
`

// TestStatefulNoAllocs: limits, quotas, named objects, log (with a sink
// that formats the line into a reused buffer) and mark sets allocate
// nothing on the packet path.
func TestStatefulNoAllocs(t *testing.T) {
	c, err := compileString(statefulRuleset)
	if err != nil {
		t.Fatal(err)
	}
	frames := benchPackets(t)
	ct := conntrack.NewTable(conntrack.DefaultSettings(), nil)
	eng := engine.New(ct, c)
	buf := make([]byte, 0, 1024)
	lines := 0
	eng.SetLogSink(func(ev *engine.LogEvent) {
		buf = ev.AppendText(buf[:0])
		lines++
	})
	var (
		p   packet.Parsed
		res engine.Result
		m   = engine.Meta{Iifname: engine.IfName("eth0")}
	)
	now := int64(0)
	run := func() {
		for _, f := range frames {
			now += 1e6
			p.DecodeIP(f)
			eng.Packet(&p, &m, now, &res)
		}
	}
	run()
	if lines == 0 {
		t.Fatal("no log line")
	}
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Fatalf("%v allocations per run of %d packets, want 0", n, len(frames))
	}
}
