package integration

import (
	"encoding/json"
	"fmt"
	"os"
)

// Ports the server role listens on.
const (
	portEcho      = 7    // UDP echo: allowed client -> server
	portHTTP      = 80   // HTTP: allowed client -> server
	portHeartbeat = 82   // TCP: the server writes a numbered line every heartbeatEvery
	portReject    = 8081 // TCP echo and UDP echo the firewall rejects
	portInbound   = 9000 // TCP echo and UDP echo on the client: new inbound, must be dropped
)

// result is what a client role prints, one JSON object per line. Fields
// not relevant to a role stay empty.
type result struct {
	OK     bool   `json:"ok"`
	Err    string `json:"err,omitempty"`
	Kind   string `json:"kind,omitempty"` // refused, timeout, reset, other
	Status int    `json:"status,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	// udpstream
	Sent int   `json:"sent,omitempty"`
	Recv int   `json:"recv,omitempty"`
	Lost []int `json:"lost,omitempty"` // the first missing sequence numbers
	// heartbeat lines and PTBs seen
	Seq   int    `json:"seq,omitempty"`
	V     int    `json:"v,omitempty"`
	Src   string `json:"src,omitempty"`
	Inner string `json:"inner,omitempty"` // "src sport -> dst dport" of the quoted packet
	MTU   int    `json:"mtu,omitempty"`
}

// runRole runs the role a re-executed test binary was started for and
// returns its exit code.
func runRole(role string, args []string) int {
	var err error
	switch role {
	case "serve":
		err = serve()
	case "client":
		err = client(args)
	case "ptblisten":
		err = ptbListen()
	case "ptbsend":
		err = ptbSend(args)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "role %s: %v\n", role, err)
		return 1
	}
	return 0
}

func emit(r result) {
	b, _ := json.Marshal(r)
	fmt.Printf("%s\n", b)
}
