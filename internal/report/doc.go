// Package report counts what a packet trace contains and renders the
// counts for people (aligned text tables) or programs (one JSON object). It
// is the logic behind `hare replay`.
//
// A Summary is fed decoded packets one at a time with Add, or whole captures
// with Replay, which reads a capture.Reader batch by batch and decodes into
// one reused packet.Parsed. Neither allocates per packet once every link
// type and EtherType in the trace has been seen once. With Summary.Track
// set, Replay also runs every packet through reassembly and connection
// tracking (Tracker, track.go), which reports each packet's result and each
// event to its callbacks and counts what it concluded.
//
// # JSON output
//
// WriteJSON writes one object. Its key names are stable; new keys may be
// added, none are renamed or removed. Counts are integers; "bytes" are frame
// lengths as on the wire (the original length a capture records, which can
// exceed what was captured); "captured_bytes" is what the file holds.
// Every list is sorted by packets, most first, then by name or number, and
// lists only entries that occurred.
//
//	{
//	  "files": [                      // one per capture, in command-line order
//	    {"path": "a.pcapng", "format": "pcapng", "packets": 40, "bytes": 4242,
//	     "error": "byte 1234: ..."}  // "error" only when the file could not be read to its end
//	  ],
//	  "packets": 40, "bytes": 4242, "captured_bytes": 4242,
//	  "first_time": "2024-01-02T03:04:05.000000001Z",  // omitted when there are no packets
//	  "last_time":  "2024-01-02T03:04:06Z",
//	  "duration_seconds": 0.999999999,
//	  "link_types": [{"name": "ETHERNET", "link_type": 1, "packets": 38, "bytes": 4000}],
//	  "network":    [{"name": "IPv6", "ethertype": "0x86dd", "packets": 20, "bytes": 2000}],
//	  "transport":  [{"name": "tcp", "protocol": 6, "packets": 12, "bytes": 900}],
//	  "ipv6_ext_packets": 5,          // IPv6 packets with at least one extension header
//	  "ext_headers": [{"name": "frag", "packets": 4}],  // packets carrying each kind
//	  "anomalies":   [{"name": "IPv4 options", "packets": 1}],
//	  "fragments": {"ipv4": {"first": 1, "later": 1, "atomic": 0},
//	                "ipv6": {"first": 1, "later": 2, "atomic": 1}},
//	  "tunnels":     [{"name": "6in4", "packets": 1}],
//	  "decode_problems":   [{"reason": "TCP header truncated", "packets": 1}],
//	  "checksums_verified": true,      // --checksum was given
//	  "checksum_problems": [{"reason": "bad TCP checksum", "packets": 1}],
//	  "conntrack": {                   // with Summary.Track: see ConntrackResult
//	    "clock": "capture", "profile": "linux", "set": [],
//	    "tracked": 38, "not_ip": 2, "excluded": 0,
//	    "states": [{"name": "new", "packets": 10}], "related": 0, "untracked": 2,
//	    "invalid": [{"reason": "bad checksum: bad TCP checksum", "packets": 1}], "ignored": [],
//	    "defrag": {"held": 2, "reassembled": 1, "atomic": 0, "passed_unreassembled": 0,
//	               "dropped": [], "discarded": [], "incomplete": 0},
//	    "entries": 9, "entries_by_state": [{"proto": "tcp", "state": "TIME_WAIT", "entries": 2}],
//	    "table": {"inserted": 10, "table_full": 0, "early_drops": 0, "expired": 1,
//	              "insert_failed": 0, "search_restarts": 0},
//	    "events": {"new": 10, "update": 12, "destroy": 1, "lost": 0}
//	  }
//	}
//
// "network" is keyed by EtherType: IP packets count under IPv4 or IPv6 even
// when their header could not be decoded (see decode_problems); frames
// without an EtherType that are not IP count as "none", and IEEE 802.3
// length-field frames as "802.3". "transport" counts IP packets by the
// upper-layer protocol (for IPv6, the first header the extension-header walk
// does not skip).
package report
