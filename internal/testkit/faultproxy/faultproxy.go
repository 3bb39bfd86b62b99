// Package faultproxy is a TCP proxy on 127.0.0.1 that can pass connections
// to a backend, hold them open without an answer (a hanging server), or
// refuse them (a server that is down), switched at run time: tests and the
// bench use it in front of dynalite to drive the function through storage
// faults.
package faultproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Mode is what the proxy does with a new connection.
type Mode int32

const (
	// Pass forwards the connection to the backend.
	Pass Mode = iota
	// Hang accepts the connection and never answers.
	Hang
	// Refuse closes the connection at once, as a stopped server's host
	// would reset it.
	Refuse
)

// Proxy forwards to one backend address.
type Proxy struct {
	// Addr is the proxy's own address, "127.0.0.1:port".
	Addr     string
	backend  string
	listener net.Listener
	mode     atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

// Start listens on a free loopback port and forwards to backend.
func Start(backend string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), backend: backend, listener: l}
	go p.serve()
	return p, nil
}

// URL is the proxy as an http:// endpoint.
func (p *Proxy) URL() string { return "http://" + p.Addr }

// Set switches the mode for new connections, and drops the connections
// already open (a client's keep-alive connection would otherwise bypass the
// switch).
func (p *Proxy) Set(m Mode) {
	p.mode.Store(int32(m))
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

// Close stops listening and drops every connection.
func (p *Proxy) Close() error {
	err := p.listener.Close()
	p.Set(Pass)
	return err
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) serve() {
	for {
		conn, err := p.listener.Accept()
		if err != nil {
			return
		}
		switch Mode(p.mode.Load()) {
		case Refuse:
			conn.Close()
		case Hang:
			p.track(conn) // read nothing, answer nothing, until Set or Close
		default:
			p.track(conn)
			go p.forward(conn)
		}
	}
}

func (p *Proxy) forward(client net.Conn) {
	backend, err := net.Dial("tcp", p.backend)
	if err != nil {
		client.Close()
		return
	}
	p.track(backend)
	go func() {
		_, _ = io.Copy(backend, client)
		backend.Close()
	}()
	_, _ = io.Copy(client, backend)
	client.Close()
}
