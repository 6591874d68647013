package telemetry

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// LogWriter buffers log lines on their way to an io.Writer (the process's
// stderr) and writes them in batches: when a batch reaches its size, every
// interval, and on Close: one system call per batch instead of one per
// access line.
//
// A line reaches the writer at most one interval after it was logged, or is
// lost if the process is killed within that interval (SIGKILL, OOM); a
// panic's stack trace, written by the runtime, is not buffered. With an
// interval of 0 every line is written at once.
type LogWriter struct {
	mu       sync.Mutex
	w        io.Writer
	bw       *bufio.Writer
	interval time.Duration
	started  bool // the flushing goroutine runs (from the first write on)
	stop     chan struct{}
	done     chan struct{}
	closeErr error
	closed   bool
}

// logBatchSize is the size of a batch written at once.
const logBatchSize = 32 << 10

// NewLogWriter returns a LogWriter on w that flushes every interval. Close
// it to write what is left and stop its flushing goroutine (started by the
// first write).
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	lw := &LogWriter{w: w, interval: interval}
	if interval > 0 {
		lw.bw = bufio.NewWriterSize(w, logBatchSize)
		lw.stop, lw.done = make(chan struct{}), make(chan struct{})
	}
	return lw
}

// Write implements io.Writer. slog handlers write one whole line per call,
// so a line is never split between batches unless it is larger than a
// batch.
func (lw *LogWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.bw == nil || lw.closed {
		return lw.w.Write(p)
	}
	if !lw.started {
		lw.started = true
		go lw.flushEvery(lw.interval)
	}
	if len(p) > lw.bw.Available() && lw.bw.Buffered() > 0 {
		if err := lw.bw.Flush(); err != nil {
			return 0, err
		}
	}
	return lw.bw.Write(p)
}

// Flush writes the buffered lines now.
func (lw *LogWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.bw == nil {
		return nil
	}
	return lw.bw.Flush()
}

// Close writes the buffered lines and stops the periodic flushing; later
// writes go straight through. It is safe to call more than once.
func (lw *LogWriter) Close() error {
	if lw == nil {
		return nil
	}
	lw.mu.Lock()
	if lw.closed || lw.bw == nil {
		lw.closed = true
		lw.mu.Unlock()
		return lw.closeErr
	}
	lw.closed = true
	lw.closeErr = lw.bw.Flush()
	started := lw.started
	lw.mu.Unlock()
	if started {
		close(lw.stop)
		<-lw.done
	}
	return lw.closeErr
}

func (lw *LogWriter) flushEvery(interval time.Duration) {
	defer close(lw.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-lw.stop:
			return
		case <-t.C:
			lw.mu.Lock()
			if lw.bw.Buffered() > 0 {
				_ = lw.bw.Flush() // the next line's write reports a lasting error
			}
			lw.mu.Unlock()
		}
	}
}
