package main

import (
	"bufio"
	"os"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/engine"
	"github.com/hare-fw/hare/packet"
)

// emitter writes the packets reject statements send (engine.BuildReject)
// to a pcapng file of raw IP packets, stamped with the time of the packet
// that caused them (--emit FILE).
type emitter struct {
	f   *os.File
	bw  *bufio.Writer
	w   *capture.Writer
	ifc int
	buf []byte
	n   int // packets written
	err error
}

// newEmitter creates path; nil path means no --emit.
func newEmitter(path string) (*emitter, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	e := &emitter{f: f, bw: bufio.NewWriterSize(f, 64<<10), buf: make([]byte, 0, 1500)}
	if e.w, err = capture.NewWriter(e.bw); err == nil {
		e.ifc, err = e.w.AddInterface(packet.LinkRaw, 0, "hare-reject")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return e, nil
}

// reject writes what a reject of kind how sends in answer to p at now
// (nanoseconds), if anything.
func (e *emitter) reject(p *packet.Parsed, how engine.RejectKind, now int64) {
	e.buf = engine.BuildReject(e.buf[:0], p, how)
	if len(e.buf) == 0 || e.err != nil {
		return
	}
	e.err = e.w.WritePacket(e.ifc, max(now, 0), e.buf, len(e.buf))
	e.n++
}

// close flushes and closes the file and returns the first error.
func (e *emitter) close() error {
	if err := e.w.Flush(); e.err == nil {
		e.err = err
	}
	if err := e.f.Close(); e.err == nil {
		e.err = err
	}
	return e.err
}
