package main

import (
	"errors"
	"io"
	"net"
	"sync"
)

// tcpSwitch forwards each connection to the current upstream; route changes
// the upstream and closes every open connection, so that the facade's
// keep-alive connections reconnect to the new one at once.
type tcpSwitch struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
}

func newSwitch(target string) (*tcpSwitch, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &tcpSwitch{ln: ln, target: target, conns: map[net.Conn]struct{}{}}, nil
}

func (s *tcpSwitch) addr() string { return s.ln.Addr().String() }

// serve accepts connections until close.
func (s *tcpSwitch) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go s.forward(c)
	}
}

// forward copies between c and a new connection to the current target.
func (s *tcpSwitch) forward(c net.Conn) {
	s.mu.Lock()
	target := s.target
	s.mu.Unlock()
	u, err := net.Dial("tcp", target)
	if err != nil {
		_ = c.Close()
		return
	}
	s.track(c, u)
	defer s.untrack(c, u)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
	<-done
}

func (s *tcpSwitch) track(cs ...net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.conns[c] = struct{}{}
	}
}

func (s *tcpSwitch) untrack(cs ...net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(s.conns, c)
	}
}

// route sends new connections to target and closes the open ones.
func (s *tcpSwitch) route(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = target
	for c := range s.conns {
		_ = c.Close()
		delete(s.conns, c)
	}
}

func (s *tcpSwitch) close() {
	_ = s.ln.Close()
	s.route("")
}
