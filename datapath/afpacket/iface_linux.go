package afpacket

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// iface is what the bridge needs to know of one interface, looked up
// with ioctls on a control socket (dev_ioctl).
type iface struct {
	name  string
	index int
	mtu   int
	// lro is whether Open turned large receive offload off, to be
	// turned on again by Close.
	lro bool
}

func lookup(ctl int, name string) (iface, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return iface{}, fmt.Errorf("afpacket: interface %q: %w", name, err)
	}
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFINDEX, ifr); err != nil {
		return iface{}, fmt.Errorf("afpacket: interface %q: %w", name, err)
	}
	idx := int(ifr.Uint32())
	ifr, _ = unix.NewIfreq(name)
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFMTU, ifr); err != nil {
		return iface{}, fmt.Errorf("afpacket: interface %q MTU: %w", name, err)
	}
	return iface{name: name, index: idx, mtu: int(ifr.Uint32())}, nil
}

// ETH_FLAG_LRO in ETHTOOL_GFLAGS/SFLAGS (include/uapi/linux/ethtool.h).
const ethFlagLRO = 1 << 15

type ethtoolValue struct {
	cmd  uint32
	data uint32
}

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

func ethtoolFlags(ctl int, name string, cmd uint32, v *ethtoolValue) error {
	var ifr ifreqData
	copy(ifr.name[:], name)
	v.cmd = cmd
	ifr.data = unsafe.Pointer(v)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(ctl), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	return nil
}

// setLRO turns large receive offload on or off (ethtool -K NAME lro
// on|off; the kernel's own dev_disable_lro for bridge ports) and
// reports whether it changed anything. A device without LRO changes
// nothing.
func setLRO(ctl int, name string, on bool) (bool, error) {
	var v ethtoolValue
	if err := ethtoolFlags(ctl, name, unix.ETHTOOL_GFLAGS, &v); err != nil {
		if err == unix.EOPNOTSUPP {
			return false, nil
		}
		return false, fmt.Errorf("afpacket: %s: ETHTOOL_GFLAGS: %w", name, err)
	}
	if (v.data&ethFlagLRO != 0) == on {
		return false, nil
	}
	v.data ^= ethFlagLRO
	if err := ethtoolFlags(ctl, name, unix.ETHTOOL_SFLAGS, &v); err != nil {
		return false, fmt.Errorf("afpacket: %s: turning LRO off: %w (try ethtool -K %s lro off)", name, err, name)
	}
	return true, nil
}
