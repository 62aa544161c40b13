package packet

// ExtKind is the kind of an IPv6 extension header.
type ExtKind uint8

const (
	ExtUnknown       ExtKind = iota
	ExtHopByHop              // 0
	ExtDestOptsPreRH         // 60, before a Routing header (options for the listed destinations)
	ExtRouting               // 43
	ExtFragment              // 44
	ExtAH                    // 51
	ExtESP                   // 50 (ends the walk: the rest is encrypted)
	ExtDestOpts              // 60, not followed by a Routing header (options for the final destination)
	ExtMobility              // 135 (RFC 6275; ends the walk, its Payload Proto is always 59)
	ExtHIP                   // 139 (RFC 7401)
	ExtShim6                 // 140 (RFC 5533)
	ExtExperimental          // 253, 254 (RFC 3692)
	ExtNoNext                // 59: nothing follows
	numExtKinds
)

var extKindText = [numExtKinds]string{
	"unknown", "hbh", "dst-pre-rt", "rt", "frag", "ah", "esp", "dst", "mh", "hip", "shim6", "exp", "nonext",
}

// String returns the short name nft uses for the header (hbh, rt, frag, dst,
// mh…), or a descriptive one where nft has none.
func (k ExtKind) String() string {
	if k < numExtKinds {
		return extKindText[k]
	}
	return "unknown"
}

// NumExtKinds is the number of ExtKind values, for arrays indexed by kind.
const NumExtKinds = int(numExtKinds)

// ExtSet is a set of extension-header kinds.
type ExtSet uint16

// Has reports whether the set contains kind k.
func (s ExtSet) Has(k ExtKind) bool { return s&(1<<k) != 0 }

func (s *ExtSet) add(k ExtKind) { *s |= 1 << k }

// Tunnel is the kind of tunnel a packet carries.
type Tunnel uint8

const (
	NoTunnel     Tunnel = iota
	Tunnel6in4          // IPv6 in IPv4, protocol 41 (RFC 4213)
	Tunnel4in4          // IPv4 in IPv4, protocol 4 (RFC 2003)
	Tunnel6in6          // IPv6 in IPv6, next header 41 (RFC 2473)
	Tunnel4in6          // IPv4 in IPv6, next header 4 (RFC 2473)
	TunnelGRE           // IPv4 or IPv6 inside GRE (RFC 2784; PPTP's GRE v1 carries PPP and is not decapsulated)
	TunnelTeredo        // IPv6 in UDP port 3544 (RFC 4380)
	numTunnels
)

var tunnelText = [numTunnels]string{"none", "6in4", "ipip", "6in6", "4in6", "gre", "teredo"}

func (t Tunnel) String() string {
	if t < numTunnels {
		return tunnelText[t]
	}
	return "unknown"
}

// String prints the flags in nft's order and spelling (fin,syn,rst,psh,ack,urg,ecn,cwr).
// It allocates; it is for humans.
func (f TCPFlags) String() string {
	names := [...]string{"fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr", "ae"}
	s := ""
	for i, n := range names {
		if f&(1<<i) != 0 {
			if s != "" {
				s += ","
			}
			s += n
		}
	}
	return s
}
