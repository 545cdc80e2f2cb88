package serving

import (
	"net"
	"sync"
	"sync/atomic"
)

// trackingListener remembers open connections and whether each has sent a byte. fasthttp
// counts a connection as busy from the moment it is accepted, so a client that opens a
// connection and sends nothing (HTTP clients keep spares) would hold a graceful shutdown
// until its read timeout. Such connections carry no request, so closing them loses nothing.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newTrackingListener(ln net.Listener) *trackingListener {
	return &trackingListener{Listener: ln, conns: map[*trackedConn]struct{}{}}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, owner: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// closeSilent closes every connection that has not sent a byte yet.
func (l *trackingListener) closeSilent() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if !c.spoke.Load() {
			_ = c.Conn.Close()
		}
	}
}

type trackedConn struct {
	net.Conn
	owner  *trackingListener
	spoke  atomic.Bool
	closed sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.spoke.Store(true)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.closed.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.conns, c)
		c.owner.mu.Unlock()
	})
	return c.Conn.Close()
}
