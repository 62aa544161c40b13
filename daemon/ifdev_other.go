//go:build !linux

package daemon

import (
	"net"

	"github.com/hare-fw/hare/engine"
)

// kernelDev knows the name of interface i; its type is Ethernet's
// (ARPHRD_ETHER), which the Linux datapaths, the only ones, never ask for
// here.
func kernelDev(i int) (ifDev, bool) {
	ifc, err := net.InterfaceByIndex(i)
	if err != nil {
		return ifDev{}, false
	}
	return ifDev{name: engine.IfName(ifc.Name), typ: 1}, true
}
