package engine_test

import (
	"testing"

	"github.com/hare-fw/hare/engine"
)

// TestStatefulUpdate: a transaction keeps the state of named objects and
// of the limits and quotas of rules it does not touch, as the kernel
// does; a rule added afterwards starts afresh.
func TestStatefulUpdate(t *testing.T) {
	src := `table inet t {
	counter c { }
	quota q { 1 kbytes }
	chain in {
		type filter hook input priority 0; policy drop;
		counter name "c" quota 300 bytes accept
	}
}
`
	r := newStmtRig(t, src)
	for i := range 3 {
		r.run(echo(uint16(i), 100), 0) // 128 bytes: a, a, d
	}
	for _, cmd := range []string{
		"add rule inet t in quota name \"q\" counter name \"c\" accept", // rules only
		"add chain inet t other", // a full compile
	} {
		if err := applyText(r.eng, cmd); err != nil {
			t.Fatal(err)
		}
		// The old rule's quota is used up (384 > 300); the next rule's
		// named quota counts on (dropped by nothing here: accepted).
		v := r.run(echo(9, 100), 0)
		objs := r.eng.Rules().Objects()
		if v != engine.Accept || objs[0].Name != "c" {
			t.Fatalf("after %q: %s, objects %+v", cmd, v, objs)
		}
	}
	objs := r.eng.Rules().Objects()
	// c: 3 packets, then 2 × (the first rule's counter and the new
	// rule's): 3 + 2×2 = 7. q: the two packets the new rule saw.
	if objs[0].Packets != 7 || objs[1].Used != 2*128 {
		t.Errorf("objects %+v, want c with 7 packets, q used 256", objs)
	}
}
