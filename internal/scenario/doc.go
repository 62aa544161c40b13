// Package scenario generates the captures the shared corpus lacks: small,
// deterministic traffic scenarios, each aimed at a few rows of the
// requirements catalogue (../shared/docs/ipv6-fw-requirements.md: K-xx
// kernel behaviour, TW-xx TCP window and state rules, REC-xx RFC 6092, FR-xx
// fragments, LT-xx timeouts, LB-xx knobs), built with packettest so that
// every length and checksum is right unless a scenario says otherwise.
//
// The flow from definition to kernel reference:
//
//  1. All returns every Scenario: a name, a doc line, the rows it covers and
//     its frames (capture time, link type, bytes, and the decode Reason the
//     frame is meant to have).
//  2. WriteAll writes each as NAME.pcapng with package capture;
//     testdata/scenarios/*.pcapng in the repository are its output, and the
//     package test (go test ./internal/scenario -update) keeps them equal
//     byte for byte.
//  3. scripts/scenario-oracle.sh replays each capture through the running
//     kernel's conntrack (the shared kernel oracle) and keeps, in
//     testdata/scenarios/NAME/, the same files as the shared
//     kernel-reference directories; with --check it compares a fresh run
//     with them, ignoring what varies between runs (ids, wall-clock times,
//     use counts, timeouts by one second).
//
// Addresses are documentation prefixes (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32) plus link-local and multicast addresses
// where the protocol needs them; never loopback, which the kernel drops on
// a non-loopback device before conntrack sees it. Frames are 1 ms apart:
// the oracle replays at top speed and hare's differential test uses a
// frozen clock, so timing carries no meaning here.
//
// Scenarios are built afresh by each call to All; nothing in the package
// keeps state, so it is safe for concurrent use.
package scenario
