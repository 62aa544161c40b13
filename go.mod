module github.com/hare-fw/hare

go 1.25.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/florianl/go-nfqueue/v2 v2.1.0
	github.com/gopacket/gopacket v1.7.7
	github.com/mdlayher/netlink v1.9.0
	golang.org/x/sys v0.45.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/mdlayher/socket v0.5.1 // indirect
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
)
