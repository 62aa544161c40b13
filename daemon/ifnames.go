package daemon

import (
	"net"

	"github.com/hare-fw/hare/engine"
)

// ifDev is what the engine needs of a device: its name (meta iifname,
// oifname, NUL padded as engine.IfName) and type (meta iiftype, oiftype:
// dev->type, ARPHRD_*).
type ifDev struct {
	name [16]byte
	typ  uint16
}

// ifNames maps interface indexes to devices. Each worker has its own, so
// lookups take no lock; a miss asks the kernel (kernelDev, which
// allocates: once per interface, not per packet) and an index the kernel
// does not know is remembered as nameless until refresh is called, so a
// packet from a vanished interface does not cost a netlink round trip
// each time.
type ifNames struct {
	devs    map[int]ifDev
	resolve func(int) (ifDev, bool)
}

func newIfNames(resolve func(int) (ifDev, bool)) *ifNames {
	if resolve == nil {
		resolve = kernelDev
	}
	return &ifNames{devs: make(map[int]ifDev), resolve: resolve}
}

// devResolver is the device lookup the options ask for: the kernel's, or
// with Options.IfName (tests) those names with Options.IfType's types
// (default the replay's device type, ARPHRD_NONE).
func devResolver(o *Options) func(int) (ifDev, bool) {
	if o.IfName == nil {
		return nil
	}
	return func(i int) (ifDev, bool) {
		s, ok := o.IfName(i)
		d := ifDev{name: engine.IfName(s), typ: engine.ReplayIftype}
		if o.IfType != nil {
			d.typ, _ = o.IfType(i)
		}
		return d, ok
	}
}

// kernelIfindex is the index of the interface named name, for the
// compiler (engine.Options.Ifindex): nft resolves `iif "eth0"` so.
func kernelIfindex(name string) (int32, bool) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return 0, false
	}
	return int32(ifc.Index), true
}

// dev returns interface i; index 0 (no interface) has the empty name,
// as in the kernel.
func (n *ifNames) dev(i int) ifDev {
	if i <= 0 {
		return ifDev{}
	}
	if d, ok := n.devs[i]; ok {
		return d
	}
	d, _ := n.resolve(i)
	n.devs[i] = d
	return d
}

// refresh forgets every device: interfaces are renamed, removed, and
// their indexes reused. The daemon calls it on reload.
func (n *ifNames) refresh() { clear(n.devs) }
