package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// heartbeatEvery is how often the heartbeat server writes a line.
const heartbeatEvery = 50 * time.Millisecond

// serve is the server role: HTTP, UDP echo, the heartbeat and the ports
// the tests expect to be rejected or dropped, all dual-stack. It prints
// "ready" once everything listens and runs until killed.
func serve() error {
	mux := http.NewServeMux()
	// GET /bytes?n=N answers N bytes.
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		buf := make([]byte, 32<<10)
		for n > 0 {
			k := min(n, len(buf))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	// POST /sink reads the body and answers its length.
	mux.HandleFunc("/sink", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	hl, err := net.Listen("tcp", fmt.Sprintf(":%d", portHTTP))
	if err != nil {
		return err
	}
	go http.Serve(hl, mux)

	hb, err := net.Listen("tcp", fmt.Sprintf(":%d", portHeartbeat))
	if err != nil {
		return err
	}
	go acceptLoop(hb, heartbeat)
	for _, port := range []int{portReject, portInbound} {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			return err
		}
		go acceptLoop(l, func(c net.Conn) { io.Copy(c, c) })
	}
	for _, port := range []int{portEcho, portReject, portInbound} {
		pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", port))
		if err != nil {
			return err
		}
		bigReceiveBuffer(pc.(*net.UDPConn))
		go udpEcho(pc)
	}
	fmt.Println("ready")
	select {}
}

func acceptLoop(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// heartbeat writes "N\n" with N counting up every heartbeatEvery until the
// connection fails.
func heartbeat(c net.Conn) {
	w := bufio.NewWriter(c)
	for seq := 1; ; seq++ {
		fmt.Fprintf(w, "%d\n", seq)
		if w.Flush() != nil {
			return
		}
		time.Sleep(heartbeatEvery)
	}
}

func udpEcho(pc net.PacketConn) {
	buf := make([]byte, 65536)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], addr)
	}
}
