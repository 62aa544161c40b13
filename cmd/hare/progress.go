package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Progress line timing: nothing for captures read within progressDelay,
// then at most one update per progressEvery.
const (
	progressDelay = time.Second
	progressEvery = 250 * time.Millisecond
)

// progress draws a one-line progress report on a terminal while a capture
// is read, and erases it when the capture is done. A nil or disabled
// progress does nothing. It is called once per batch, never per packet, so
// reading the clock here is cheap.
type progress struct {
	w       io.Writer
	enabled bool
	now     func() time.Time // time.Now; tests replace it

	name      string
	size      int64 // capture size in bytes, -1 if unknown
	began     time.Time
	last      time.Time // when the line was last drawn
	drawn     bool      // a line is on the screen
	lastWidth int
}

// newProgress returns the progress line for `--progress when`.
func newProgress(w io.Writer, when string) *progress {
	on := when == "always" || (when == "auto" && isTerminal(w))
	return &progress{w: w, enabled: on, now: time.Now}
}

func (p *progress) start(path string, size int64) {
	if p == nil || !p.enabled {
		return
	}
	p.name = filepath.Base(path)
	p.size = size
	p.began = p.now()
	p.last = time.Time{}
	p.drawn = false
}

// update is called after each batch with the reader's byte offset.
func (p *progress) update(off int64) {
	if p == nil || !p.enabled {
		return
	}
	now := p.now()
	if now.Sub(p.began) < progressDelay || now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	secs := now.Sub(p.began).Seconds()
	line := fmt.Sprintf("hare: %s: %s", p.name, mib(off))
	if p.size > 0 {
		line += fmt.Sprintf(" of %s (%.0f%%)", mib(p.size), 100*float64(off)/float64(p.size))
	}
	line += fmt.Sprintf(", %.1f MiB/s", float64(off)/secs/(1<<20))
	p.draw(line)
}

// done erases the line, if one was drawn.
func (p *progress) done() {
	if p == nil || !p.enabled || !p.drawn {
		return
	}
	// Carriage return, then erase to the end of the line (ECMA-48 EL).
	io.WriteString(p.w, "\r\x1b[K")
	p.drawn = false
}

func (p *progress) draw(line string) {
	pad := ""
	if n := p.lastWidth - len(line); n > 0 {
		pad = fmt.Sprintf("%*s", n, "")
	}
	io.WriteString(p.w, "\r"+line+pad)
	p.lastWidth = len(line)
	p.drawn = true
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
