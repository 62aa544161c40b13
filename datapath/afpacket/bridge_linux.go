package afpacket

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hare-fw/hare/datapath"
	"golang.org/x/sys/unix"
)

var errInject = errors.New("afpacket: inject: packet or frame of the wrong size")

// Bridge is an opened AF_PACKET bridge between two interfaces.
type Bridge struct {
	cfg   Config
	ifs   [2]iface
	ports []*Port
	ctl   int // control socket for ioctls
	efd   int // eventfd: readable once Close starts

	passARP   atomic.Bool
	passNonIP atomic.Bool
	closing   atomic.Bool
	closeOnce sync.Once
}

var _ datapath.Datapath = (*Bridge)(nil)

// Open sets up the bridge: for each worker one socket on A and one on B,
// each with its receive ring, in promiscuous mode, in one hash fanout
// group per interface. Frames flow only while workers call Read and Done.
func Open(c Config) (br *Bridge, err error) {
	if err := c.check(unix.Getpagesize()); err != nil {
		return nil, err
	}
	ctl, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("afpacket: socket: %w", err)
	}
	br = &Bridge{cfg: c, ctl: ctl, efd: -1}
	br.SetPass(c.PassARP, c.PassNonIP)
	// b, not br: "return nil, err" has already set br to nil when this
	// runs.
	b := br
	defer func() {
		if err != nil {
			b.teardown()
			br = nil
		}
	}()
	for k, name := range []string{c.A, c.B} {
		if br.ifs[k], err = lookup(ctl, name); err != nil {
			return nil, err
		}
	}
	if br.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("afpacket: eventfd: %w", err)
	}
	if c.DisableLRO {
		for k := range br.ifs {
			if br.ifs[k].lro, err = setLRO(ctl, br.ifs[k].name, false); err != nil {
				return nil, err
			}
		}
	}
	// Every socket is opened and mapped before any joins its group, and
	// worker w joins each group w-th: the groups' member arrays
	// (packet_fanout.arr) then list worker w at index w in both, and since
	// fanout_demux_hash uses a symmetric hash (__skb_get_hash_symmetric),
	// the two directions of a flow usually reach the same worker. Nothing
	// depends on it: the connection table is shared and safe for
	// concurrent use, and a flow whose directions land on two workers is
	// tracked just the same.
	flags := unix.PACKET_FANOUT_FLAG_IGNORE_OUTGOING
	if c.Defrag {
		flags |= unix.PACKET_FANOUT_FLAG_DEFRAG
	}
	socks := make([][2]*sock, c.Workers)
	for w := range socks {
		for k := range 2 {
			s, err := openSock(br.ifs[k].index, br.ifs[k].mtu, &c)
			if err != nil {
				for _, ss := range socks {
					for _, s := range ss {
						if s != nil {
							s.close()
						}
					}
				}
				return nil, err
			}
			socks[w][k] = s
		}
		br.ports = append(br.ports, newPort(br, socks[w][0], socks[w][1], br.efd))
	}
	var ids [2]uint16
	for w := range socks {
		for k := range 2 {
			// PACKET_IGNORE_OUTGOING on the socket does not reach a
			// fanout member (its own hook is replaced by the group's),
			// hence the same flag on the group.
			if ids[k], err = socks[w][k].joinFanout(ids[k], flags); err != nil {
				return nil, err
			}
		}
	}
	return br, nil
}

// SetPass changes Config.PassARP and Config.PassNonIP of a running bridge
// (a reload); workers see the change from their next frame.
func (br *Bridge) SetPass(arp, nonIP bool) {
	br.passARP.Store(arp)
	br.passNonIP.Store(nonIP)
}

// Name says "afpacket A<->B (TPACKET_V3)", or V2 as the ring is.
func (br *Bridge) Name() string {
	v := 3
	if br.cfg.Ring == RingV2 {
		v = 2
	}
	return fmt.Sprintf("afpacket %s<->%s (TPACKET_V%d)", br.cfg.A, br.cfg.B, v)
}

// Ports returns one Port per worker.
func (br *Bridge) Ports() []datapath.Port {
	ps := make([]datapath.Port, len(br.ports))
	for i, p := range br.ports {
		ps[i] = p
	}
	return ps
}

// Close wakes every blocked Read (which returns datapath.ErrClosed), waits
// for each Port's current Read, Done or Inject to end, closes the sockets
// (which leaves the fanout groups and drops promiscuous mode) and turns
// LRO back on where Open turned it off. A Port whose worker holds a batch
// keeps its rings mapped, and its sockets with them, until the worker's
// Done (which returns datapath.ErrClosed) or next Read.
func (br *Bridge) Close() error {
	br.closeOnce.Do(func() {
		br.closing.Store(true)
		var one [8]byte
		one[0] = 1
		_, _ = unix.Write(br.efd, one[:])
		br.teardown()
	})
	return nil
}

func (br *Bridge) teardown() {
	for _, p := range br.ports {
		p.mu.Lock()
		p.statsMu.Lock()
		p.teardown()
		p.statsMu.Unlock()
		p.mu.Unlock()
	}
	for k := range br.ifs {
		if br.ifs[k].lro {
			_, _ = setLRO(br.ctl, br.ifs[k].name, true)
		}
	}
	if br.efd >= 0 {
		_ = unix.Close(br.efd)
	}
	_ = unix.Close(br.ctl)
}
