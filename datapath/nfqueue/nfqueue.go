package nfqueue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	nfq "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/hare-fw/hare/datapath"
)

// Datapath is a set of NFQUEUE queues, one Port each. It works in the
// network namespace of the thread that calls Open: the netlink sockets,
// the raw sockets and the rules all belong there.
type Datapath struct {
	cfg    Config
	first  uint16
	ports  []*port
	closed atomic.Bool

	inj4, inj6 syscall.RawConn
	injFiles   []*os.File
	rules      *installed
	closeOnce  sync.Once
	closeErr   error
	procMu     sync.Mutex
	proc       *os.File // /proc/thread-self/net/netfilter/nfnetlink_queue of the namespace
	netns      *os.File // the namespace Open ran in, where Close removes the rules
	procBuf    []byte
}

var _ datapath.Datapath = (*Datapath)(nil)

// Open binds the queues of c (NFQNL_CFG_CMD_BIND: one netlink socket per
// queue), configures them (copy range, queue length, fail-open, GSO),
// opens the raw sockets for Inject and then, if c says so, installs the
// queue and notrack rules. Binding comes first so that a fail-closed
// queue never drops for want of a listener.
func Open(c Config) (_ *Datapath, err error) {
	c, first, n, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Datapath{cfg: c, first: first}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	var rc4, rc6 syscall.RawConn
	var f *os.File
	if rc4, f, err = openRaw(unix.AF_INET, c.InjectMark); err != nil {
		return nil, err
	}
	d.injFiles = append(d.injFiles, f)
	if rc6, f, err = openRaw(unix.AF_INET6, c.InjectMark); err != nil {
		return nil, err
	}
	d.injFiles = append(d.injFiles, f)
	d.inj4, d.inj6 = rc4, rc6
	for i := 0; i < n; i++ {
		q := first + uint16(i)
		nq, err := bind(c, q)
		if err != nil {
			return nil, err
		}
		p, err := newPort(d, nq, q, c)
		if err != nil {
			nq.Close()
			return nil, err
		}
		d.ports = append(d.ports, p)
	}
	if f, err := os.Open("/proc/thread-self/net/netfilter/nfnetlink_queue"); err == nil {
		d.proc = f
	}
	if c.InstallRules || c.Notrack {
		if d.netns, err = os.Open("/proc/thread-self/ns/net"); err != nil {
			return nil, err
		}
		if d.rules, err = install(c, first, n); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// bind opens queue q's socket with go-nfqueue and configures the queue.
// go-nfqueue's Register would also start its callback reader, so the
// configuration messages (nfqnl_recv_config) are sent here.
func bind(c Config, q uint16) (*nfq.Nfqueue, error) {
	nq, err := nfq.Open(&nfq.Config{
		NfQueue:      q,
		MaxQueueLen:  c.MaxQueueLen,
		MaxPacketLen: c.CopyRange,
		Copymode:     nfq.NfQnlCopyPacket,
	})
	if err != nil {
		return nil, fmt.Errorf("nfqueue %d: netlink socket: %w", q, err)
	}
	fail := func(what string, err error) (*nfq.Nfqueue, error) {
		nq.Close()
		return nil, fmt.Errorf("nfqueue %d: %s: %w", q, what, err)
	}
	if err := setRcvBuf(nq.Con, c.ReadBuffer); err != nil {
		return fail("receive buffer", err)
	}
	if err := config(nq.Con, q, putAttr(nil, cfgCmd, cmdBind, 0, 0, 0)); err != nil {
		if errors.Is(err, unix.EBUSY) {
			err = fmt.Errorf("%w (another program is bound to the queue)", err)
		}
		return fail("bind", err)
	}
	var params [5]byte
	params[0], params[1], params[2], params[3] = byte(c.CopyRange>>24), byte(c.CopyRange>>16), byte(c.CopyRange>>8), byte(c.CopyRange)
	params[4] = nfq.NfQnlCopyPacket
	if err := config(nq.Con, q, putAttr(nil, cfgParams, params[:]...)); err != nil {
		return fail("copy range", err)
	}
	// Both flags are set explicitly either way (the mask says which
	// flags the message changes: nfqnl_recv_config).
	var flags uint32
	if c.FailOpen {
		flags |= nfq.NfQaCfgFlagFailOpen
	}
	if c.GSO {
		flags |= nfq.NfQaCfgFlagGSO
	}
	attrs := putAttr32(nil, cfgFlags, flags)
	attrs = putAttr32(attrs, cfgMask, nfq.NfQaCfgFlagFailOpen|nfq.NfQaCfgFlagGSO)
	attrs = putAttr32(attrs, cfgQueueMaxLen, c.MaxQueueLen)
	if err := config(nq.Con, q, attrs); err != nil {
		return fail("flags and queue length", err)
	}
	return nq, nil
}

// config sends one NFQNL_MSG_CONFIG for queue q and waits for its ack.
func config(con *netlink.Conn, q uint16, attrs []byte) error {
	body := putNlmsg(nil, 0, 0, q)[nlmsgHdrLen:]
	_, err := con.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(msgConfig),
			Flags: netlink.Request | netlink.Acknowledge,
		},
		Data: append(body, attrs...),
	})
	return err
}

// setRcvBuf sets SO_RCVBUFFORCE (root may exceed net.core.rmem_max), or
// SO_RCVBUF without the privilege.
func setRcvBuf(con *netlink.Conn, n int) error {
	rc, err := con.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
		if serr != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// Name says e.g. "nfqueue 0-3".
func (d *Datapath) Name() string {
	if len(d.ports) == 1 {
		return fmt.Sprintf("nfqueue %d", d.first)
	}
	return fmt.Sprintf("nfqueue %d-%d", d.first, int(d.first)+len(d.ports)-1)
}

// Ports returns one Port per queue, in queue order.
func (d *Datapath) Ports() []datapath.Port {
	ps := make([]datapath.Port, len(d.ports))
	for i, p := range d.ports {
		ps[i] = p
	}
	return ps
}

// Close removes the installed rules first, unless Config.KeepRules (the
// hooks then no longer queue: packets pass unfiltered by hare whether it
// failed open or closed), then closes the sockets: blocked Reads return datapath.ErrClosed. The kernel drops the
// packets still queued without a verdict when the socket goes
// (nfqnl_rcv_nl_event → instance_destroy → nfqnl_flush with NF_DROP).
func (d *Datapath) Close() error {
	d.closeOnce.Do(func() {
		if d.rules != nil && !d.cfg.KeepRules {
			d.closeErr = inNetns(d.netns, d.rules.remove)
		}
		if d.netns != nil {
			d.netns.Close()
		}
		for _, p := range d.ports {
			p.Stats() // the kernel's drop count while it can still be read
		}
		d.closed.Store(true)
		for _, p := range d.ports {
			if err := p.nfq.Close(); err != nil && d.closeErr == nil {
				d.closeErr = err
			}
		}
		for _, f := range d.injFiles {
			f.Close()
		}
		d.procMu.Lock()
		if d.proc != nil {
			d.proc.Close()
			d.proc = nil
		}
		d.procMu.Unlock()
	})
	return d.closeErr
}

// kernelDrops reads queue q's queue_dropped (queue full, fail-closed) +
// queue_user_dropped (hare's socket buffer full) from /proc/net/netfilter/
// nfnetlink_queue (seq_show of nfnetlink_queue.c: queue, portid, total,
// copy mode, copy range, dropped, user dropped, id sequence, 1). Packets
// accepted unseen by fail-open are not counted anywhere by the kernel.
func (d *Datapath) kernelDrops(q uint16) (uint64, bool) {
	d.procMu.Lock()
	defer d.procMu.Unlock()
	if d.proc == nil {
		return 0, false
	}
	if d.procBuf == nil {
		d.procBuf = make([]byte, 0, 4096)
	}
	buf := bytes.NewBuffer(d.procBuf[:0])
	if _, err := io.Copy(buf, io.NewSectionReader(d.proc, 0, 1<<20)); err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(buf)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 7 {
			continue
		}
		n, err := strconv.ParseUint(string(f[0]), 10, 16)
		if err != nil || uint16(n) != q {
			continue
		}
		a, _ := strconv.ParseUint(string(f[5]), 10, 64)
		b, _ := strconv.ParseUint(string(f[6]), 10, 64)
		return a + b, true
	}
	return 0, false
}

// inNetns runs fn on a thread in namespace ns (the commands it starts
// inherit it), whichever namespace the caller's thread is in. The thread
// is not reused: the goroutine ends locked to it, and the runtime then
// ends the thread.
func inNetns(ns *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("nfqueue: entering the namespace to remove the rules: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
