package daemon

import (
	"net"

	"github.com/hare-fw/hare/engine"
)

// ifNames maps interface indexes to names for meta iifname and oifname.
// Each worker has its own, so lookups take no lock; a miss asks the kernel
// (net.InterfaceByIndex, which allocates: once per interface, not per
// packet) and an index the kernel does not know is remembered as nameless
// until refresh is called, so a packet from a vanished interface does not
// cost a netlink round trip each time.
type ifNames struct {
	names   map[int][16]byte
	resolve func(int) (string, bool)
}

func newIfNames(resolve func(int) (string, bool)) *ifNames {
	if resolve == nil {
		resolve = kernelIfName
	}
	return &ifNames{names: make(map[int][16]byte), resolve: resolve}
}

// kernelIfName asks the kernel for the name of interface index i.
func kernelIfName(i int) (string, bool) {
	ifc, err := net.InterfaceByIndex(i)
	if err != nil {
		return "", false
	}
	return ifc.Name, true
}

// name returns interface i's name, NUL padded (engine.IfName); index 0
// (no interface) has the empty name, as in the kernel.
func (n *ifNames) name(i int) [16]byte {
	if i <= 0 {
		return [16]byte{}
	}
	if b, ok := n.names[i]; ok {
		return b
	}
	s, _ := n.resolve(i)
	b := engine.IfName(s)
	n.names[i] = b
	return b
}

// refresh forgets every name: interfaces are renamed, removed, and their
// indexes reused. The daemon calls it on reload.
func (n *ifNames) refresh() { clear(n.names) }
