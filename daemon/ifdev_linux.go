package daemon

import (
	"encoding/binary"
	"syscall"

	"github.com/hare-fw/hare/engine"
)

// kernelDev asks the kernel for interface i's name and type: a dump of
// the links (RTM_GETLINK, as net.Interfaces does), whose ifinfomsg
// carries ifi_type, the dev->type that meta iiftype reads
// (nft_meta_store_iftype). It answers for the network namespace the
// daemon runs in, which /sys/class/net need not be.
func kernelDev(i int) (ifDev, bool) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return ifDev{}, false
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return ifDev{}, false
	}
	for k := range msgs {
		m := &msgs[k]
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		// struct ifinfomsg: family, pad, type (u16), index (s32), ….
		if int(int32(binary.NativeEndian.Uint32(m.Data[4:8]))) != i {
			continue
		}
		d := ifDev{typ: binary.NativeEndian.Uint16(m.Data[2:4])}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			return ifDev{}, false
		}
		for _, a := range attrs {
			if a.Attr.Type == syscall.IFLA_IFNAME {
				v := a.Value
				for len(v) > 0 && v[len(v)-1] == 0 {
					v = v[:len(v)-1]
				}
				d.name = engine.IfName(string(v))
			}
		}
		return d, true
	}
	return ifDev{}, false
}
