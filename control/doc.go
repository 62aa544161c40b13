// Package control is hare's local control API: a server the daemon runs
// on a unix socket, and its Go client, which `hare ct` (conntrack-tools'
// conntrack) and `hare nft` (nft) use.
//
// # Transport
//
// Plain HTTP/1.1 over the unix socket, JSON bodies, and NDJSON (one JSON
// object per line) for streams, with no dependency beyond the standard
// library. The API is small and local, so what matters is that an
// operator can use it with nothing but curl, and that streams (events,
// trace) can be read line by line as they come:
//
//	curl --unix-socket /run/hare/control.sock 'http://hare/v1/conntrack?format=text&proto=tcp'
//	curl -N --unix-socket /run/hare/control.sock 'http://hare/v1/conntrack/events?format=text'
//	curl --unix-socket /run/hare/control.sock --data-binary @rules.nft 'http://hare/v1/ruleset?name=rules.nft'
//
// connectrpc (listed in docs/ecosystem.md) would add generated code and a
// protobuf schema for the same JSON-over-HTTP, and its server streams are
// framed (enveloped) rather than plain lines; nothing here needs gRPC.
//
// # Who may connect
//
// The socket has mode 0600 (root only), or 0660 and the group of
// Config.Group. Independently of the mode, every connection's peer
// credentials (SO_PEERCRED, SO_PEERGROUPS) are checked: root, the daemon's own user and
// members of the configured group (primary or supplementary) are served,
// anyone else gets 403 Forbidden.
//
// # Endpoints
//
//	GET    /v1/conntrack          conntrack -L: entries matching a Filter (query parameters, see Filter)
//	DELETE /v1/conntrack          conntrack -D: delete the matching entries, answer them
//	GET    /v1/conntrack/entry    conntrack -G: the entry with the exact tuple the filter gives; 404 if none
//	POST   /v1/conntrack/flush    conntrack -F: {"flushed": N}
//	GET    /v1/conntrack/stats    conntrack -S and -C: Stats
//	GET    /v1/conntrack/events   conntrack -E: NDJSON Records; events=NEW,UPDATE,DESTROY, a Filter, queue=N
//	GET    /v1/conntrack/proc     /proc/net/nf_conntrack as text (ctfmt.WriteProc)
//	GET    /v1/conntrack/proc-stat  /proc/net/stat/nf_conntrack as text (ctfmt.WriteProcStat)
//	GET    /v1/ruleset            nft list ruleset|table|chain|set: family=, table=, chain=, set=,
//	                              handles=1 (-a), stateless=1 (-s), format=json (-j); 404 if the part does not exist
//	POST   /v1/ruleset            nft -f / nft add|insert|delete rule|element…: the body is nft source, applied
//	                              as one transaction; name= its file name in errors; check=1 only checks (nft -c)
//	                              (include is read by the daemon, so only for root or the daemon's user)
//	GET    /v1/counters           rule counters and named counters/quotas: Counters
//	GET    /v1/trace              nft monitor trace: NDJSON Records of trace lines (see TraceHub)
//	POST   /v1/reload             reload configuration and ruleset (Backend.Reload), as SIGHUP
//	GET    /v1/stats              the daemon's own statistics (Backend.Stats)
//
// Entries and events come as text with format=text (conntrack's lines, by
// package ctfmt, with o=extended,id,ktimestamp,timestamp as conntrack's
// -o) and otherwise as JSON (ctfmt.Entry, ctfmt.Event). Errors are
// {"error": "..."} with a 4xx/5xx status; a ruleset error's message is
// nft's, with file:line:col. An operation whose backend the daemon did not
// provide answers 501.
package control
