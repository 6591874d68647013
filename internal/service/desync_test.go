package service

// The desync regression test: an upstream that sends an unsolicited HTTP
// response on a keep-alive connection must never make one caller receive
// another caller's answer. The hand-written HTTP/1.1 transport the facade
// once had handed such a connection to the next caller, who read the stale
// response (another tenant's reseller). net/http discards an idle
// connection on which bytes arrive that nobody asked for, but reads those
// that arrive after the next request took the connection as its answer: no
// HTTP/1.1 client can tell them apart. Only rest.Pools, which never lets two
// principals (tenant and token) share a connection, keeps them apart then.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// desyncMaxRequests bounds the requests the desync upstream answers.
const desyncMaxRequests = 32

// desyncUpstream is an HTTP/1.1 upstream on raw TCP that answers every GET
// /v1/Resellers/{id} with a reseller made of what the caller sent (the id,
// its X-Tenant as companyName, its bearer token as internalIdentifier), and
// then writes a second copy of that response, which nobody asked for, on
// the same keep-alive connection: a few milliseconds later, or at once,
// right after the first one's Content-Length.
type desyncUpstream struct {
	url       string
	immediate bool
	ln        net.Listener

	// wrote receives once per unsolicited response written; dropped once per
	// connection the client closed.
	wrote, dropped chan struct{}

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
	n     int // requests answered
}

func newDesyncUpstream(t *testing.T, immediate bool) *desyncUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &desyncUpstream{
		url: "http://" + ln.Addr().String(), immediate: immediate, ln: ln,
		wrote: make(chan struct{}, desyncMaxRequests), dropped: make(chan struct{}, desyncMaxRequests),
	}
	u.wg.Add(1)
	go u.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		u.mu.Lock()
		for _, c := range u.conns {
			_ = c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *desyncUpstream) accept() {
	defer u.wg.Done()
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		u.conns = append(u.conns, c)
		u.mu.Unlock()
		u.wg.Add(1)
		go u.serve(c)
	}
}

// serve answers the requests of one connection until the client closes it.
func (u *desyncUpstream) serve(c net.Conn) {
	defer u.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
				strings.Contains(err.Error(), "connection reset") {
				u.dropped <- struct{}{}
			}
			return
		}
		u.mu.Lock()
		u.n++
		over := u.n > desyncMaxRequests
		u.mu.Unlock()
		if over {
			return
		}
		resp := desyncResponse(req)
		if u.immediate {
			_, err = c.Write(append(resp, resp...))
		} else {
			if _, err = c.Write(resp); err == nil {
				time.Sleep(5 * time.Millisecond) // a slow peer: the unsolicited copy comes later
				_, err = c.Write(resp)
			}
		}
		if err != nil {
			return
		}
		u.wrote <- struct{}{}
	}
}

// desyncResponse is the 200 answer to req, made of what the caller sent.
func desyncResponse(req *http.Request) []byte {
	id := strings.TrimPrefix(req.URL.Path, "/v1/Resellers/")
	_, token, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	body, _ := json.Marshal(map[string]string{
		"id": id, "companyName": req.Header.Get("X-Tenant"), "internalIdentifier": token,
	})
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

// settle waits until the unsolicited response of the last call has been
// written, then until the client drops that connection, as net/http does
// (or, for a transport that keeps it, a while: the next call then shows
// what it reads from it).
func (u *desyncUpstream) settle(t *testing.T) {
	t.Helper()
	select {
	case <-u.wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream wrote no unsolicited response")
	}
	select {
	case <-u.dropped:
	case <-time.After(2 * time.Second):
	}
}

func TestDesyncedUpstreamNeverMixesCallers(t *testing.T) {
	const (
		resellerX = "f94f06fd-dc98-47fb-bd49-63bc98bd87f2"
		resellerY = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	)
	// Several callers in turn, with different tenants and tokens, some
	// asking for the same reseller: the id check alone cannot tell their
	// answers apart, only the tenant and token the upstream echoes can.
	callers := []struct{ tenant, token, id string }{
		{"a.example", "token-a1", resellerX},
		{"b.example", "token-b1", resellerX},
		{"a.example", "token-a2", resellerY},
		{"c.example", "token-c1", resellerX},
		{"b.example", "token-b2", resellerY},
		{"c.example", "token-c2", resellerY},
		{"a.example", "token-a1", resellerX},
	}
	tests := []struct {
		name      string
		immediate bool
		// atOnce: the next caller does not wait for the unsolicited response
		// (net/http then reads it as the next request's answer).
		atOnce bool
	}{
		{name: "second response a few milliseconds later", immediate: false},
		{name: "bytes beyond Content-Length", immediate: true},
		{name: "next caller before the second response", immediate: false, atOnce: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newDesyncUpstream(t, tt.immediate)
			// The service's transport, explicitly: net/http in rest.Pools.
			tr := rest.NewPools(rest.NewTransport(rest.TransportConfig{}), 0)
			t.Cleanup(tr.CloseIdleConnections)
			f := newFacadeConfig(t, rest.Config{BaseURL: u.url, Transport: tr, MaxAttempts: 1})
			for i, c := range callers {
				ctx := callCtx(t, "authorization", "Bearer "+c.token, "x-tenant", c.tenant)
				got, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: c.id})
				// A clean error would not leak anything, but net/http gives
				// none here: an error means the scenario did not run.
				if err != nil {
					t.Fatalf("caller %d (%s, %s): GetReseller() error = %v", i, c.tenant, c.token, err)
				}
				want := &pb.Reseller{Id: c.id, CompanyName: &c.tenant, InternalIdentifier: &c.token}
				if diff := gocmp.Diff(want, got, protocmp.Transform()); diff != "" {
					t.Fatalf("caller %d (%s, %s) received another caller's answer (-own +received):\n%s", i, c.tenant, c.token, diff)
				}
				if !tt.atOnce {
					u.settle(t)
				}
			}
		})
	}
}
