package main

import (
	"net"
	"os"
)

// notify tells systemd about the daemon's state (sd_notify(3): a datagram
// to the unix socket $NOTIFY_SOCKET; "@" starts an abstract name), for
// Type=notify units. Outside systemd it does nothing.
func notify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}
