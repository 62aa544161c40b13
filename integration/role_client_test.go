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
//	udpstream ADDR N PPS         N numbered datagrams at PPS per second; counts echoes
//	hold ADDR LPORT              connect from LPORT, print "ready", read heartbeat lines
//	                             and print one result per line (seq) until killed
//	udpfrom ADDR LPORT           one echo from a fixed local port
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
		emit(udpStream(a[0], n, pps))
	case "hold":
		lport, _ := strconv.Atoi(a[1])
		return hold(a[0], lport)
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

// udpStream sends n datagrams carrying their sequence number, pps per
// second, to a UDP echo server and counts the echoes: every datagram lost
// on the way there or back is missing.
func udpStream(addr string, n, pps int) result {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return failure(err)
	}
	defer c.Close()
	seen := make([]bool, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			if k >= 4 {
				if s := int(binary.BigEndian.Uint32(buf)); s < n {
					seen[s] = true
				}
			}
		}
	}()
	pkt := make([]byte, 64)
	start := time.Now()
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint32(pkt, uint32(i))
		c.Write(pkt)
		if d := time.Until(start.Add(time.Duration(i+1) * time.Second / time.Duration(pps))); d > 0 {
			time.Sleep(d)
		}
	}
	time.Sleep(500 * time.Millisecond)
	c.SetReadDeadline(time.Now())
	wg.Wait()
	r := result{Sent: n}
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
