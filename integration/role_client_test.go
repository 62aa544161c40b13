package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// client is the client role: client OP ARGS... runs one operation and
// prints its result (client_test.go runs it and reads the result).
//
//	get URL                      HTTP GET; bytes = body length
//	post URL N                   HTTP POST of N bytes; bytes = what the server counted
//	tcp ADDR                     dial, send a line, read it back (kind says how it failed)
//	udp ADDR                     send a datagram, wait for the echo
//	udpstream ADDR N PPS LPORT   N numbered datagrams at PPS per second from LPORT;
//	                             prints "ready", "sent K" at each quarter, then the
//	                             result counting the echoes
//	hold ADDR LPORT              connect from LPORT, print "ready", read heartbeat lines
//	                             and print one result per line (seq) until killed
//	udpfrom ADDR LPORT           one echo from a fixed local port
//	udpbig ADDR N                one datagram of N bytes (fragmented by the kernel when
//	                             longer than the path MTU), wait for the same bytes back
//	udpsend ADDR N               the same datagram, sent without waiting for anything
func client(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("client: want OP ARGS")
	}
	op, a := args[0], args[1:]
	switch op {
	case "get":
		emit(httpDo(a[0], -1))
	case "post":
		n, _ := strconv.Atoi(a[1])
		emit(httpDo(a[0], n))
	case "tcp":
		emit(tcpEcho(a[0], 0))
	case "udp":
		emit(udpEchoOnce(a[0], 0))
	case "udpfrom":
		lport, _ := strconv.Atoi(a[1])
		emit(udpEchoOnce(a[0], lport))
	case "udpstream":
		n, _ := strconv.Atoi(a[1])
		pps, _ := strconv.Atoi(a[2])
		lport, _ := strconv.Atoi(a[3])
		emit(udpStream(a[0], n, pps, lport))
	case "hold":
		lport, _ := strconv.Atoi(a[1])
		return hold(a[0], lport)
	case "udpbig", "udpsend":
		n, _ := strconv.Atoi(a[1])
		emit(udpBig(a[0], n, op == "udpbig"))
	default:
		return fmt.Errorf("client: unknown op %q", op)
	}
	return nil
}

// opTimeout bounds every client operation: a flow the firewall drops
// fails with kind "timeout" after it.
const opTimeout = 1500 * time.Millisecond

func failure(err error) result {
	r := result{Err: err.Error(), Kind: "other"}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		r.Kind = "refused"
	case errors.Is(err, syscall.ECONNRESET):
		r.Kind = "reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		r.Kind = "unreachable"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		r.Kind = "timeout"
	}
	return r
}

func httpDo(url string, post int) result {
	c := &http.Client{Timeout: 5 * time.Second}
	var resp *http.Response
	var err error
	if post < 0 {
		resp, err = c.Get(url)
	} else {
		resp, err = c.Post(url, "application/octet-stream", bytes.NewReader(make([]byte, post)))
	}
	if err != nil {
		return failure(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return failure(err)
	}
	r := result{OK: resp.StatusCode == 200, Status: resp.StatusCode, Bytes: int64(len(body))}
	if post >= 0 {
		r.Bytes, _ = strconv.ParseInt(string(body), 10, 64)
	}
	return r
}

func tcpEcho(addr string, lport int) result {
	d := net.Dialer{Timeout: opTimeout, LocalAddr: &net.TCPAddr{Port: lport}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return failure(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return failure(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return failure(err)
	}
	return result{OK: line == "hello\n", Bytes: int64(len(line))}
}

func udpEchoOnce(addr string, lport int) result {
	d := net.Dialer{LocalAddr: &net.UDPAddr{Port: lport}}
	c, err := d.Dial("udp", addr)
	if err != nil {
		return failure(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	if _, err := c.Write([]byte("hello")); err != nil {
		return failure(err)
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil {
		return failure(err)
	}
	return result{OK: string(buf[:n]) == "hello", Bytes: int64(n)}
}

// udpBig sends one datagram of n bytes to addr and, if echo, waits for
// the same bytes back.
func udpBig(addr string, n int, echo bool) result {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return failure(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	msg := make([]byte, n)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	if _, err := c.Write(msg); err != nil {
		return failure(err)
	}
	if !echo {
		return result{OK: true, Bytes: int64(n)}
	}
	buf := make([]byte, n+1)
	k, err := c.Read(buf)
	if err != nil {
		return failure(err)
	}
	return result{OK: bytes.Equal(buf[:k], msg), Bytes: int64(k)}
}

// udpStream sends n datagrams carrying their sequence number, pps per
// second, from lport to a UDP echo server and counts the echoes: every
// datagram lost on the way there or back is missing. It prints "sent K"
// after each quarter of the stream, so that a test acts while the stream
// runs however slowly a loaded machine schedules it.
//
// The reader stops when every echo arrived, or echoGuard after the last
// one: a failure guard, not a settling time (a fixed wait after the last
// send cut off late echoes on a loaded machine).
func udpStream(addr string, n, pps, lport int) result {
	d := net.Dialer{LocalAddr: &net.UDPAddr{Port: lport}}
	c, err := d.Dial("udp", addr)
	if err != nil {
		return failure(err)
	}
	defer c.Close()
	bigReceiveBuffer(c.(*net.UDPConn))
	fmt.Println("ready")
	seen := make([]bool, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64)
		for got := 0; got < n; {
			c.SetReadDeadline(time.Now().Add(echoGuard))
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			if k >= 4 {
				if s := int(binary.BigEndian.Uint32(buf)); s < n && !seen[s] {
					seen[s] = true
					got++
				}
			}
		}
	}()
	pkt := make([]byte, 64)
	r := result{}
	start := time.Now()
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint32(pkt, uint32(i))
		if _, err := c.Write(pkt); err == nil {
			r.Sent++
		}
		if (i+1)%(n/4) == 0 {
			fmt.Printf("sent %d\n", i+1)
		}
		if d := time.Until(start.Add(time.Duration(i+1) * time.Second / time.Duration(pps))); d > 0 {
			time.Sleep(d)
		}
	}
	wg.Wait()
	for i, ok := range seen {
		if ok {
			r.Recv++
		} else if len(r.Lost) < 20 {
			r.Lost = append(r.Lost, i)
		}
	}
	r.OK = r.Recv == n
	return r
}

// echoGuard bounds the wait for the next echo of a stream.
const echoGuard = 5 * time.Second

// bigReceiveBuffer sets a 4 MiB receive buffer (SO_RCVBUFFORCE: root
// passes net.core.rmem_max), so that a reader the loaded machine does not
// schedule for a while loses no datagram to a full socket
// (__udp_enqueue_schedule_skb, counted in Udp RcvbufErrors).
func bigReceiveBuffer(c *net.UDPConn) {
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 4<<20)
		})
	}
}

// hold connects to the heartbeat server from a fixed local port and prints
// each heartbeat it reads, so that a test sees when the flow stalls.
func hold(addr string, lport int) error {
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{Port: lport}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		emit(failure(err))
		return nil
	}
	fmt.Println("ready")
	s := bufio.NewScanner(c)
	for s.Scan() {
		seq, _ := strconv.Atoi(s.Text())
		emit(result{OK: true, Seq: seq})
	}
	if err := s.Err(); err != nil {
		emit(failure(err))
	} else {
		emit(result{Err: "EOF", Kind: "eof"})
	}
	os.Stdout.Sync()
	return nil
}
