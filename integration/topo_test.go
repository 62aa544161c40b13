package integration

import (
	"net/netip"
	"testing"
)

// topo is the client -- firewall -- server -- far topology of one test.
//
// Routed (the firewall routes between two subnets):
//
//	client c0 10.71.1.2 fd71:1::2 -- fc 10.71.1.1 fd71:1::1 [firewall] fs 10.71.2.1 fd71:2::1 --
//	  s0 10.71.2.2 fd71:2::2 [server] sr 10.71.3.1 fd71:3::1 (MTU 1280) -- r0 10.71.3.2 fd71:3::2 far
//
// Bridged (client and server in one subnet, the firewall has no address):
//
//	client c0 10.71.0.2 fd71::2 -- fc [firewall] fs -- s0 10.71.0.3 fd71::3 [server] sr ... far as above
type topo struct {
	bridged bool
	client  netns
	fw      netns
	server  netns
	far     netns
	// fwClient and fwServer are the firewall's interfaces towards the
	// client and the server.
	fwClient, fwServer string
	// Addresses by IP version (4, 6).
	clientIP, serverIP, farIP map[int]netip.Addr
}

// farMTU is the MTU of the server's link to the far namespace: a full-sized
// packet from the client to the far host does not fit it.
const farMTU = "1280"

func newTopo(t *testing.T, bridged bool) *topo {
	t.Helper()
	tp := &topo{
		bridged:  bridged,
		client:   newNetns(t, "c"),
		fw:       newNetns(t, "f"),
		server:   newNetns(t, "s"),
		far:      newNetns(t, "r"),
		fwClient: "fc",
		fwServer: "fs",
		farIP:    ips("10.71.3.2", "fd71:3::2"),
	}
	if bridged {
		// No IPv6 on the firewall's ports: it must not speak on the wire.
		tp.fw.sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
		tp.fw.sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
	}
	veth(t, tp.client, "c0", tp.fw, tp.fwClient)
	veth(t, tp.fw, tp.fwServer, tp.server, "s0")
	veth(t, tp.server, "sr", tp.far, "r0")
	// Only the server's end is small: the far host advertises a full MSS,
	// so the client sends packets that the server cannot forward.
	tp.server.must(t, "ip", "link", "set", "sr", "mtu", farMTU)

	for _, ns := range []netns{tp.server, tp.fw} {
		ns.sysctl(t, "net.ipv4.ip_forward", "1")
	}
	tp.server.sysctl(t, "net.ipv6.conf.all.forwarding", "1")
	tp.server.addr(t, "sr", "10.71.3.1/24")
	tp.server.addr(t, "sr", "fd71:3::1/64")
	tp.far.addr(t, "r0", "10.71.3.2/24")
	tp.far.addr(t, "r0", "fd71:3::2/64")
	tp.far.route(t, "default", "10.71.3.1")
	tp.far.route(t, "default", "fd71:3::1")

	if bridged {
		tp.clientIP = ips("10.71.0.2", "fd71::2")
		tp.serverIP = ips("10.71.0.3", "fd71::3")
		tp.client.addr(t, "c0", "10.71.0.2/24")
		tp.client.addr(t, "c0", "fd71::2/64")
		tp.server.addr(t, "s0", "10.71.0.3/24")
		tp.server.addr(t, "s0", "fd71::3/64")
		tp.client.route(t, "10.71.3.0/24", "10.71.0.3")
		tp.client.route(t, "fd71:3::/64", "fd71::3")
		return tp
	}
	tp.fw.sysctl(t, "net.ipv6.conf.all.forwarding", "1")
	tp.clientIP = ips("10.71.1.2", "fd71:1::2")
	tp.serverIP = ips("10.71.2.2", "fd71:2::2")
	tp.client.addr(t, "c0", "10.71.1.2/24")
	tp.client.addr(t, "c0", "fd71:1::2/64")
	tp.fw.addr(t, tp.fwClient, "10.71.1.1/24")
	tp.fw.addr(t, tp.fwClient, "fd71:1::1/64")
	tp.fw.addr(t, tp.fwServer, "10.71.2.1/24")
	tp.fw.addr(t, tp.fwServer, "fd71:2::1/64")
	tp.server.addr(t, "s0", "10.71.2.2/24")
	tp.server.addr(t, "s0", "fd71:2::2/64")
	tp.client.route(t, "default", "10.71.1.1")
	tp.client.route(t, "default", "fd71:1::1")
	tp.server.route(t, "default", "10.71.2.1")
	tp.server.route(t, "default", "fd71:2::1")
	tp.fw.route(t, "10.71.3.0/24", "10.71.2.2")
	tp.fw.route(t, "fd71:3::/64", "fd71:2::2")
	return tp
}

func ips(v4, v6 string) map[int]netip.Addr {
	return map[int]netip.Addr{4: netip.MustParseAddr(v4), 6: netip.MustParseAddr(v6)}
}

// hostPort formats an address and port for net.Dial and URLs.
func hostPort(a netip.Addr, port uint16) string {
	return netip.AddrPortFrom(a, port).String()
}
