package daemon

import (
	"net"
	"testing"

	"github.com/hare-fw/hare/engine"
)

// testDev is a device lookup for workers in tests: every index is the
// device name, of the replay's type.
func testDev(name string) func(int) (ifDev, bool) {
	return devResolver(&Options{IfName: func(int) (string, bool) { return name, true }})
}

// TestKernelDev: the netlink dump gives every interface of this
// namespace the name net.Interfaces (the Go library's own dump) gives it,
// and a type; loopback is ARPHRD_LOOPBACK (772, include/uapi/linux/if_arp.h).
func TestKernelDev(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		t.Fatalf("net.Interfaces: %v %d", err, len(ifs))
	}
	n := newIfNames(nil)
	for _, ifc := range ifs {
		d := n.dev(ifc.Index)
		if d.name != engine.IfName(ifc.Name) {
			t.Errorf("index %d: name %q, want %q", ifc.Index, d.name, ifc.Name)
		}
		if ifc.Flags&net.FlagLoopback != 0 && d.typ != 772 {
			t.Errorf("%s: type %d, want 772 (loopback)", ifc.Name, d.typ)
		}
		if i, ok := kernelIfindex(ifc.Name); !ok || int(i) != ifc.Index {
			t.Errorf("kernelIfindex(%q) = %d %v, want %d", ifc.Name, i, ok, ifc.Index)
		}
	}
	if d := n.dev(1 << 30); d != (ifDev{}) {
		t.Errorf("unknown index: %+v", d)
	}
	if _, ok := kernelIfindex("hare-nope0"); ok {
		t.Error("kernelIfindex found an interface that does not exist")
	}
}
