package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hare-fw/hare/control"
	"github.com/hare-fw/hare/packet"
)

// `hare ct` is conntrack(8) of conntrack-tools 1.4.7 for the running
// daemon: the same commands, options, output and exit statuses, so that
// scripts written for conntrack work unchanged. Its parsing follows
// conntrack.c: getopt_long over the option table, protocol options
// (--sport, --state…) known only after -p names a protocol that has them
// (the proto extensions), the same messages and exit codes
// (PARAMETER_PROBLEM 2, OTHER_PROBLEM 1).

func ctHelp(w io.Writer) {
	io.WriteString(w, `Usage: hare ct COMMAND [options]    (conntrack-tools' conntrack, for the running hare daemon)

Commands:
  -L, --dump [conntrack]    list the connections
  -G, --get                 show the connection with an exact tuple (-p -s -d and ports or ICMP fields)
  -D, --delete              delete the matching connections
  -F, --flush [conntrack]   delete every connection
  -E, --event [conntrack]   follow events until interrupted
  -S, --stats               statistics
  -C, --count               number of connections

Filters:
  -p, --proto PROTO                 tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre or a number
  -s, --src, --orig-src ADDR[/LEN]  original source
  -d, --dst, --orig-dst ADDR[/LEN]  original destination
  -r, --reply-src ADDR[/LEN]        reply source
  -q, --reply-dst ADDR[/LEN]        reply destination
  --sport, --orig-port-src PORT     (after -p tcp|udp|udplite|sctp|dccp)
  --dport, --orig-port-dst PORT
  --reply-port-src PORT, --reply-port-dst PORT
  --state STATE                     TCP or SCTP state (after -p tcp|sctp)
  --icmp-type N, --icmp-code N, --icmp-id N   (after -p icmp; --icmpv6-* after -p icmpv6)
  -m, --mark VALUE[/MASK]
  -w, --zone, --orig-zone N         conntrack zone (conntrack's -z is --zero)
  -u, --status STATUS[,STATUS]      ASSURED, SEEN_REPLY…
  -f, --family ipv4|ipv6
Output:
  -o, --output extended,timestamp,id,ktimestamp[,json]   json (hare only): one JSON object per line
  -e, --event-mask NEW,UPDATE,DESTROY|ALL                 with -E
  --socket PATH    the daemon's control socket (default $HARE_SOCKET, else /run/hare/control.sock)

Exit status: 0 success, 1 an operation failed (as conntrack's OTHER_PROBLEM), 2 bad parameters.
`)
}

// ctVersion is what conntrack-tools calls itself at the start of its
// messages; scripts match on it.
const ctVersion = "conntrack v1.4.7 (conntrack-tools)"

// ctArgs is a parsed command line.
type ctArgs struct {
	cmd    byte // L G D F E S C
	f      control.Filter
	o      control.TextOptions
	events string
	socket string
}

// ctError is a command-line error: conntrack's exit_error(PARAMETER_PROBLEM).
type ctError struct{ msg string }

func (e *ctError) Error() string { return e.msg }

// ctOpt is one entry of the option table.
type ctOpt struct {
	short  byte
	long   []string
	hasArg bool
	protos []packet.IPProto // protocol options: known only after -p one of these
}

var (
	portProtos  = []packet.IPProto{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP, packet.ProtoDCCP}
	stateProtos = []packet.IPProto{packet.ProtoTCP, packet.ProtoSCTP, packet.ProtoDCCP}
	icmpProtos  = []packet.IPProto{packet.ProtoICMP}
	icmp6Protos = []packet.IPProto{packet.ProtoICMPv6}
)

var ctOpts = []ctOpt{
	{'L', []string{"dump"}, false, nil},
	{'G', []string{"get"}, false, nil},
	{'D', []string{"delete"}, false, nil},
	{'F', []string{"flush"}, false, nil},
	{'E', []string{"event"}, false, nil},
	{'S', []string{"stats"}, false, nil},
	{'C', []string{"count"}, false, nil},
	{'h', []string{"help"}, false, nil},
	{'V', []string{"version"}, false, nil},
	{'p', []string{"proto", "protonum"}, true, nil},
	{'s', []string{"src", "orig-src"}, true, nil},
	{'d', []string{"dst", "orig-dst"}, true, nil},
	{'r', []string{"reply-src"}, true, nil},
	{'q', []string{"reply-dst"}, true, nil},
	{'f', []string{"family"}, true, nil},
	{'o', []string{"output"}, true, nil},
	{'e', []string{"event-mask"}, true, nil},
	{'m', []string{"mark"}, true, nil},
	{'w', []string{"zone", "orig-zone"}, true, nil},
	{'u', []string{"status"}, true, nil},
	{'b', []string{"buffer-size"}, true, nil},
	{'z', []string{"zero"}, false, nil},
	{'I', []string{"create"}, false, nil},
	{'U', []string{"update"}, false, nil},
	{0, []string{"socket"}, true, nil},
	{1, []string{"sport", "orig-port-src"}, true, portProtos},
	{2, []string{"dport", "orig-port-dst"}, true, portProtos},
	{3, []string{"reply-port-src"}, true, portProtos},
	{4, []string{"reply-port-dst"}, true, portProtos},
	{5, []string{"state"}, true, stateProtos},
	{6, []string{"icmp-type"}, true, icmpProtos},
	{7, []string{"icmp-code"}, true, icmpProtos},
	{8, []string{"icmp-id"}, true, icmpProtos},
	{6, []string{"icmpv6-type"}, true, icmp6Protos},
	{7, []string{"icmpv6-code"}, true, icmp6Protos},
	{8, []string{"icmpv6-id"}, true, icmp6Protos},
}

// findOpt looks an option up; protocol options only when proto has them.
// A long option may be abbreviated to a unique prefix, as getopt_long
// allows (--proto for --protonum).
func findOpt(name string, long bool, proto *packet.IPProto) *ctOpt {
	if o := findOptExact(name, long, proto); o != nil || !long {
		return o
	}
	var found *ctOpt
	for i := range ctOpts {
		o := &ctOpts[i]
		if o.protos != nil && (proto == nil || !containsProto(o.protos, *proto)) {
			continue
		}
		for _, l := range o.long {
			if strings.HasPrefix(l, name) {
				if found != nil && found != o {
					return nil // ambiguous
				}
				found = o
			}
		}
	}
	return found
}

func findOptExact(name string, long bool, proto *packet.IPProto) *ctOpt {
	for i := range ctOpts {
		o := &ctOpts[i]
		if o.protos != nil {
			if proto == nil || !containsProto(o.protos, *proto) {
				continue
			}
		}
		if long {
			for _, l := range o.long {
				if l == name {
					return o
				}
			}
		} else if o.short >= 'A' && string(o.short) == name {
			return o
		}
	}
	return nil
}

func containsProto(ps []packet.IPProto, p packet.IPProto) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// parseCt reads conntrack's command line.
func parseCt(args []string) (*ctArgs, error) {
	a := &ctArgs{socket: os.Getenv("HARE_SOCKET")}
	var proto *packet.IPProto
	v := map[string]string{} // filter query parameters
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var name, val string
		var hasVal, long bool
		switch {
		case strings.HasPrefix(arg, "--") && len(arg) > 2:
			long = true
			name, val, hasVal = strings.Cut(arg[2:], "=")
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			name = arg[1:2]
			if len(arg) > 2 {
				val, hasVal = arg[2:], true
			}
		default:
			// an optional table name after -L, -F, -E (conntrack.c)
			if a.cmd != 0 && arg == "conntrack" {
				continue
			}
			return nil, &ctError{fmt.Sprintf("unknown option `%s'", arg)}
		}
		o := findOpt(name, long, proto)
		if o == nil {
			return nil, &ctError{fmt.Sprintf("unknown option `%s'", arg)}
		}
		if o.hasArg && !hasVal {
			if i+1 >= len(args) {
				return nil, &ctError{fmt.Sprintf("option `%s' requires an argument", arg)}
			}
			i++
			val = args[i]
		} else if !o.hasArg && hasVal {
			return nil, &ctError{fmt.Sprintf("unknown option `%s'", arg)}
		}
		switch o.short {
		case 'L', 'G', 'D', 'F', 'E', 'S', 'C', 'h', 'V':
			if a.cmd != 0 {
				return nil, &ctError{"Invalid commands combination"}
			}
			a.cmd = o.short
		case 'p':
			p, err := control.ParseProto(val)
			if err != nil {
				return nil, &ctError{err.Error()}
			}
			proto = &p
			v["proto"] = fmt.Sprint(int(p))
		case 's':
			v["src"] = val
		case 'd':
			v["dst"] = val
		case 'r':
			v["reply-src"] = val
		case 'q':
			v["reply-dst"] = val
		case 'f':
			v["family"] = val
		case 'm':
			v["mark"] = val
		case 'w':
			v["zone"] = val
		case 'u':
			v["status"] = val
		case 'o':
			if err := a.output(val); err != nil {
				return nil, err
			}
		case 'e':
			a.events = val
		case 'b': // netlink buffer size: hare's streams have their own queue
		case 'z', 'I', 'U':
			return nil, &ctError{fmt.Sprintf("option `%s' is not supported by hare", arg)}
		case 0:
			a.socket = val
		case 1:
			v["sport"] = val
		case 2:
			v["dport"] = val
		case 3:
			v["reply-sport"] = val
		case 4:
			v["reply-dport"] = val
		case 5:
			if err := control.CheckState(*proto, val); err != nil {
				return nil, &ctError{err.Error()}
			}
			v["state"] = val
		case 6:
			v["icmp-type"] = val
		case 7:
			v["icmp-code"] = val
		case 8:
			v["icmp-id"] = val
		}
	}
	if a.cmd == 0 {
		a.cmd = 'h' // conntrack without a command prints its help
	}
	q := map[string][]string{}
	for k, x := range v {
		q[k] = []string{x}
	}
	f, err := control.ParseFilter(q)
	if err != nil {
		return nil, &ctError{err.Error()}
	}
	a.f = f
	return a, nil
}

// output reads -o.
func (a *ctArgs) output(val string) error {
	for _, w := range strings.Split(val, ",") {
		switch w {
		case "extended":
			a.o.Extended = true
		case "id":
			a.o.ID = true
		case "ktimestamp":
			a.o.KTimestamp = true
		case "timestamp":
			a.o.Timestamp = true
		case "json":
			a.o.JSON = true
		case "xml", "labels", "userspace", "save":
			return &ctError{fmt.Sprintf("-o %s is not supported by hare", w)}
		default:
			return &ctError{fmt.Sprintf("Bad parameter `%s'", w)}
		}
	}
	return nil
}
