//go:build e2e

// Package e2e drives the built cloudcockpit-facade binary from outside, as an
// operator would: grpcurl over gRPC with reflection, and plain HTTP. Run with
// `make e2e` (it builds the pinned grpcurl into .bin/ first).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const (
	token    = "Bearer sandbox-token"
	tenant   = "portal.cloudcockpit.com"
	contoso  = "11111111-1111-4111-8111-111111111111"
	fabrikam = "22222222-2222-4222-8222-222222222222"
	unknown  = "99999999-9999-4999-8999-999999999999"
	instance = "cb3cd15b-1d6e-45be-b493-c71549cbfd87"
	cid      = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// binaries are built once per test run.
var serverBin, grpcurlBin string

// The version and revision the binary is stamped with at link time.
const e2eVersion, e2eRevision = "v0.0.0-e2e", "e2e0revision"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "server")
	// Stamped as `make build` stamps it: -version and the build-info metric
	// must show these.
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+e2eVersion+" -X main.revision="+e2eRevision, "-o", serverBin, "../cmd/server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ../cmd/server:", err)
		os.Exit(1)
	}
	grpcurlBin = os.Getenv("GRPCURL")
	if grpcurlBin == "" {
		grpcurlBin, _ = filepath.Abs("../.bin/grpcurl")
	}
	if _, err := os.Stat(grpcurlBin); err != nil {
		fmt.Fprintln(os.Stderr, "grpcurl not found at", grpcurlBin, "- run `make grpcurl` (or `make e2e`) first")
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running server binary.
type proc struct {
	cmd     *exec.Cmd
	grpc    string
	http    string
	log     *logBuffer
	exited  chan struct{}
	exitErr error
}

// start runs the server binary with args on loopback ports of its choosing
// and waits (bounded) until gRPC answers.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return launch(t, func(p *proc) (string, error) { return p.grpcurl(t, nil, "list") }, args...)
}

// launch runs the server binary with args, listening on ports the kernel
// picks (127.0.0.1:0: no port chosen here can be taken by another socket
// before the binary binds it), reads the ports from its "listening" line and
// waits, at most 15s, until list (a grpcurl list over the right transport)
// shows the facade's services.
func launch(t *testing.T, list func(*proc) (string, error), args ...string) *proc {
	t.Helper()
	p := &proc{log: &logBuffer{grew: make(chan struct{}, 1)}, exited: make(chan struct{})}
	args = append([]string{"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0"}, args...)
	p.cmd = exec.Command(serverBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("server log:\n%s", p.log.String())
		}
	})
	addrs := p.logged(t, "cloudcockpit-facade listening")
	p.grpc, p.http = addrs["grpc"], addrs["http"]
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if out, err := list(p); err == nil && strings.Contains(out, "cloudcockpit.v1.ResellerService") {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("server exited early: %v\n%s", p.exitErr, p.log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("server did not answer on %s within 15s\n%s", p.grpc, p.log.String())
	return nil
}

// logged waits (see logWhen) for the server's JSON log line whose message is
// msg and returns its string attributes, such as the addresses it listens on.
func (p *proc) logged(t *testing.T, msg string) map[string]string {
	t.Helper()
	var attrs map[string]string
	p.logWhen(func(log string) bool {
		for line := range strings.Lines(log) {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) != nil || l["msg"] != msg {
				continue
			}
			attrs = map[string]string{}
			for k, v := range l {
				if s, ok := v.(string); ok {
					attrs[k] = s
				}
			}
			return true
		}
		return false
	})
	if attrs == nil {
		t.Fatalf("no %q line in the server's log\n%s", msg, p.log.String())
	}
	return attrs
}

// logBuffer holds a server's output, written as the process runs.
type logBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	grew chan struct{} // gets a value when the log grew since it was last read
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	n, err := l.b.Write(b)
	l.mu.Unlock()
	select {
	case l.grew <- struct{}{}:
	default:
	}
	return n, err
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logWhen returns the server's log once has holds for it, or once the
// server exited or 10s passed (has may not hold then: the caller's check
// says what is missing).
func (p *proc) logWhen(has func(log string) bool) string {
	timeout := time.After(10 * time.Second)
	for {
		log := p.log.String()
		if has(log) {
			return log
		}
		select {
		case <-p.log.grew:
		case <-p.exited:
			return p.log.String()
		case <-timeout:
			return log
		}
	}
}

// logWith returns the server's log once it holds s (see logWhen).
func (p *proc) logWith(s string) string {
	return p.logWhen(func(log string) bool { return strings.Contains(log, s) })
}

// stop sends SIGTERM and waits, at most 15s, for the server to exit: its
// log is then complete.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
}

// grpcurl runs grpcurl against the server with reflection only: flags, the
// address, then verb (list, describe X) or method.
func (p *proc) grpcurl(t *testing.T, flags []string, verb ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"-plaintext", "-max-time", "5"}, flags...)
	args = append(args, p.grpc)
	args = append(args, verb...)
	out, err := exec.CommandContext(ctx, grpcurlBin, args...).CombinedOutput()
	return string(out), err
}

var (
	authH   = []string{"-H", "authorization: " + token}
	tenantH = []string{"-H", "x-tenant: " + tenant}
)

func flags(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// jsonOf decodes grpcurl's JSON output (a response, or an error with
// -format-error).
func jsonOf(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("grpcurl output is not JSON: %v\n%s", err, out)
	}
	return m
}

// detail returns the first error detail of the given type from a
// -format-error JSON status.
func detail(t *testing.T, st map[string]any, typ string) map[string]any {
	t.Helper()
	ds, _ := st["details"].([]any)
	for _, d := range ds {
		if m, ok := d.(map[string]any); ok && m["@type"] == "type.googleapis.com/"+typ {
			return m
		}
	}
	t.Fatalf("no %s detail in %v", typ, st)
	return nil
}

func TestGRPCWithGrpcurl(t *testing.T) {
	p := start(t, "-sandbox")

	t.Run("list", func(t *testing.T) {
		out, err := p.grpcurl(t, nil, "list")
		if err != nil {
			t.Fatalf("list: %v\n%s", err, out)
		}
		for _, want := range []string{"cloudcockpit.v1.ResellerService", "cloudcockpit.v1.CustomerService", "grpc.health.v1.Health"} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("list lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("describe shows the proto comments", func(t *testing.T) {
		out, err := p.grpcurl(t, nil, "describe", "cloudcockpit.v1.Reseller")
		if err != nil {
			t.Fatalf("describe: %v\n%s", err, out)
		}
		for _, want := range []string{"ISO 3166-1 alpha-2", "optional string company_name = 2;", "repeated .cloudcockpit.v1.ProviderReseller provider_resellers = 15;"} {
			if !strings.Contains(out, want) {
				t.Errorf("describe lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("GetReseller", func(t *testing.T) {
		out, err := p.grpcurl(t, flags(authH, tenantH, []string{"-H", "x-correlation-id: " + cid, "-v", "-d", `{"reseller_id":"` + contoso + `"}`}),
			"cloudcockpit.v1.ResellerService/GetReseller")
		if err != nil {
			t.Fatalf("GetReseller: %v\n%s", err, out)
		}
		if !strings.Contains(out, "x-correlation-id: "+cid) {
			t.Errorf("response headers lack the correlation id:\n%s", out)
		}
		body := out[strings.Index(out, "Response contents:")+len("Response contents:") : strings.Index(out, "Response trailers received:")]
		r := jsonOf(t, body)
		if r["id"] != contoso || r["companyName"] == nil {
			t.Errorf("unexpected reseller: %v", r)
		}
		prs, _ := r["providerResellers"].([]any)
		if len(prs) == 0 {
			t.Fatalf("no provider resellers: %v", r)
		}
		pd, _ := prs[0].(map[string]any)["providerData"].(map[string]any)
		if pd["indirectResellerId"] != "f94f06fd-dc98-47fb-bd49-63bc98bd87f2" {
			t.Errorf("tier 2 data not parsed: %v", prs[0])
		}
	})

	t.Run("null and empty", func(t *testing.T) {
		out, err := p.grpcurl(t, flags(authH, tenantH, []string{"-d", `{"reseller_id":"` + fabrikam + `"}`}), "cloudcockpit.v1.ResellerService/GetReseller")
		if err != nil {
			t.Fatalf("GetReseller: %v\n%s", err, out)
		}
		r := jsonOf(t, out)
		if _, ok := r["addressLine2"]; ok {
			t.Errorf("null addressLine2 should be absent: %v", r)
		}
		if v, ok := r["internalIdentifier"]; !ok || v != "" {
			t.Errorf("empty internalIdentifier should be \"\": %v", r)
		}
	})

	t.Run("GetAcceptanceLink", func(t *testing.T) {
		out, err := p.grpcurl(t, flags(authH, tenantH, []string{"-d", `{"provider_instance_id":"` + instance + `","reseller_id":"` + contoso + `"}`}),
			"cloudcockpit.v1.CustomerService/GetAcceptanceLink")
		if err != nil {
			t.Fatalf("GetAcceptanceLink: %v\n%s", err, out)
		}
		u, _ := jsonOf(t, out)["url"].(string)
		if !strings.HasPrefix(u, "https://admin.microsoft.com/") || !strings.Contains(u, "invType=IndirectResellerRelationship") {
			t.Errorf("url = %q", u)
		}
	})

	errTests := []struct {
		name       string
		flags      []string
		method     string
		body       string
		wantCode   float64
		wantReason string
		wantField  string // a BadRequest field violation, if any
	}{
		{"not found", flags(authH, tenantH), "cloudcockpit.v1.ResellerService/GetReseller", `{"reseller_id":"` + unknown + `"}`, 5, "UPSTREAM_NOT_FOUND", ""},
		{"malformed id", flags(authH, tenantH), "cloudcockpit.v1.ResellerService/GetReseller", `{"reseller_id":"../Customers"}`, 3, "INVALID_REQUEST", "reseller_id"},
		{"missing tenant", authH, "cloudcockpit.v1.ResellerService/GetReseller", `{"reseller_id":"` + contoso + `"}`, 3, "INVALID_REQUEST", "x-tenant"},
		{"missing token", tenantH, "cloudcockpit.v1.ResellerService/GetReseller", `{"reseller_id":"` + contoso + `"}`, 16, "MISSING_CREDENTIALS", ""},
		{"basic auth", flags(tenantH, []string{"-H", "authorization: Basic dXNlcjpwYXNz"}), "cloudcockpit.v1.CustomerService/GetAcceptanceLink", `{"provider_instance_id":"` + instance + `"}`, 16, "MALFORMED_CREDENTIALS", ""},
		{"bad provider instance", flags(authH, tenantH), "cloudcockpit.v1.CustomerService/GetAcceptanceLink", `{"provider_instance_id":"nope"}`, 3, "INVALID_REQUEST", "provider_instance_id"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := p.grpcurl(t, flags(tt.flags, []string{"-format-error", "-d", tt.body}), tt.method)
			if err == nil {
				t.Fatalf("want an error, got success:\n%s", out)
			}
			st := jsonOf(t, out)
			if st["code"] != tt.wantCode {
				t.Errorf("code = %v, want %v", st["code"], tt.wantCode)
			}
			info := detail(t, st, "google.rpc.ErrorInfo")
			if info["reason"] != tt.wantReason || info["domain"] != "cloudcockpit-facade" {
				t.Errorf("ErrorInfo = %v, want reason %s", info, tt.wantReason)
			}
			if ri := detail(t, st, "google.rpc.RequestInfo"); !uuidRE.MatchString(fmt.Sprint(ri["requestId"])) {
				t.Errorf("RequestInfo.requestId = %v, want a UUID", ri["requestId"])
			}
			if tt.wantField != "" && !strings.Contains(fmt.Sprint(detail(t, st, "google.rpc.BadRequest")), "field:"+tt.wantField) {
				t.Errorf("BadRequest lacks field %s: %v", tt.wantField, st)
			}
			if strings.Contains(out, "@value") || strings.Contains(out, "sandbox-token") {
				t.Errorf("details not decoded or token echoed:\n%s", out)
			}
		})
	}

	t.Run("health", func(t *testing.T) {
		out, err := p.grpcurl(t, nil, "grpc.health.v1.Health/Check")
		if err != nil || jsonOf(t, out)["status"] != "SERVING" {
			t.Errorf("health: %v\n%s", err, out)
		}
	})

	p.stop(t)
	if strings.Contains(p.log.String(), "sandbox-token") {
		t.Errorf("the server log holds the token")
	}
}

func TestStartupErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"sandbox and upstream", []string{"-sandbox", "-upstream-url", "http://127.0.0.1:1"}, nil, "say which upstream you mean"},
		{"sandbox and upstream env", []string{"-sandbox"}, []string{"CLOUDCOCKPIT_BASE_URL=http://127.0.0.1:1"}, "say which upstream you mean"},
		{"bad bool", nil, []string{"SANDBOX=maybe"}, `SANDBOX="maybe": want true or false`},
		{"bad url", []string{"-upstream-url", "ftp://x"}, nil, `-upstream-url (CLOUDCOCKPIT_BASE_URL): base URL "ftp://x" must be an absolute http or https URL, such as https://`},
		{"bad tenant", []string{"-sandbox", "-default-tenant", "not a domain"}, nil, "is not a domain name"},
		{"bad level", []string{"-sandbox", "-log-level", "loud"}, nil, "want debug, info, warn or error"},
		{"stray argument", []string{"-sandbox", "extra"}, nil, `unexpected argument "extra"`},
		{"bad flag value", []string{"-sandbox", "-grpc-max-streams", "many"}, nil, `invalid value "many" for flag -grpc-max-streams: want a whole number`},
		{"unknown flag", []string{"-sandbox", "-grpc-port", "9090"}, nil, "flag provided but not defined: -grpc-port"},
		{"port in use", []string{"-sandbox", "-grpc-addr", "127.0.0.1:0", "-http-addr", "256.0.0.1:1"}, nil, "listen for HTTP"},
		// Nothing half-started: no listener serves, nor says so, before all are open.
		{"port in use with profiles", []string{"-sandbox", "-debug-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-http-addr", "256.0.0.1:1"}, nil, "listen for HTTP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, serverBin, tt.args...)
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("want a non-zero exit, got success:\n%s", out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n > 0 {
				t.Errorf("want one clear line, got %d:\n%s", n+1, out)
			}
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	p := start(t, "-sandbox", "-shutdown-timeout", "5s")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", p.exitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10s after SIGTERM")
	}
	sc := bufio.NewScanner(strings.NewReader(p.log.String()))
	var sawShutdown bool
	for sc.Scan() {
		sawShutdown = sawShutdown || strings.Contains(sc.Text(), "shutting down")
	}
	if !sawShutdown {
		t.Errorf("log lacks the shutdown line:\n%s", p.log.String())
	}
}

// TestHangupIsNotAStop: SIGHUP, which operators send to reload, neither
// reloads nor ends the process (its default action would, without a drain):
// the server logs that it ignored it and keeps serving, and SIGTERM still
// stops it with status 0.
func TestHangupIsNotAStop(t *testing.T) {
	p := start(t, "-sandbox")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.logWith("SIGHUP ignored"), "SIGHUP ignored") {
		t.Fatalf("no line says SIGHUP was ignored (exited: %v)", p.exitErr)
	}
	if got := httpStatus(t, "http://"+p.http+"/readyz"); got != http.StatusOK {
		t.Errorf("readiness after SIGHUP = %d, want 200", got)
	}
	p.stop(t)
	if p.exitErr != nil {
		t.Errorf("exit after SIGHUP then SIGTERM: %v, want status 0", p.exitErr)
	}
}

// TestProfilesOffLoopbackWarn: docs/observability.md says to bind
// -debug-addr to loopback; an address that listens beyond it (here every
// interface) is served, with a warning that says so.
func TestProfilesOffLoopbackWarn(t *testing.T) {
	p := start(t, "-sandbox", "-debug-addr", ":0")
	if w := p.logged(t, "serving Go runtime profiles"); w["debug"] == "" {
		t.Fatal("no profiles listener")
	}
	if !strings.Contains(p.log.String(), `-debug-addr (DEBUG_ADDR) is not a loopback address`) {
		t.Errorf("-debug-addr :0 was served without a warning:\n%s", p.log.String())
	}
}

// TestVersion checks -version against the binary's own build info: its Go
// version, and each VCS setting and the build tags it was built with (make
// builds it with -tags=grpcnotrace, docs/deployment.md).
func TestVersion(t *testing.T) {
	out, err := exec.Command(serverBin, "-version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "cloudcockpit-facade ") {
		t.Fatalf("-version: %v\n%s", err, out)
	}
	bi, err := buildinfo.ReadFile(serverBin)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cloudcockpit-facade " + e2eVersion + " vcs.revision=" + e2eRevision + " ", " " + bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.time", "vcs.modified", "-tags":
			want = append(want, " "+s.Key+"="+s.Value)
		}
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("-version lacks %q:\n%s", w, out)
		}
	}
}

// binGoVersion is the Go version the server binary was built with.
func binGoVersion(t *testing.T) string {
	t.Helper()
	bi, err := buildinfo.ReadFile(serverBin)
	if err != nil {
		t.Fatal(err)
	}
	return bi.GoVersion
}

func TestMetricsAndAccessLog(t *testing.T) {
	p := start(t, "-sandbox")
	body := `{"reseller_id":"` + contoso + `"}`
	if out, err := p.grpcurl(t, flags(authH, tenantH, []string{"-d", body}), "cloudcockpit.v1.ResellerService/GetReseller"); err != nil {
		t.Fatalf("GetReseller: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.http+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := get("/v1/Resellers/"+unknown, map[string]string{"Authorization": token, "X-Tenant": tenant}); code != http.StatusNotFound {
		t.Fatalf("REST 404 call: %d %s", code, b)
	}
	code, m := get("/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="GetReseller",grpc_service="cloudcockpit.v1.ResellerService"} 1`,
		`grpc_server_handled_total{grpc_code="NotFound",grpc_method="GetReseller",grpc_service="cloudcockpit.v1.ResellerService"} 1`,
		`cloudcockpit_upstream_requests_total{operation="GetReseller",status="200"} 1`,
		`cloudcockpit_upstream_requests_total{operation="GetReseller",status="404"} 1`,
		`grpc_server_handling_seconds_bucket{grpc_method="GetReseller"`,
		`cloudcockpit_upstream_breakers{state="closed"} `,
		`cloudcockpit_upstream_tenants `,
		`cloudcockpit_facade_build_info{goversion="` + binGoVersion(t) + `",revision="` + e2eRevision + `",version="` + e2eVersion + `"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, "sandbox-token") || strings.Contains(m, contoso) || strings.Contains(m, tenant) {
		t.Error("/metrics holds a token, an id or a tenant")
	}
	// One JSON access line per call, with the upstream status. A line may
	// come through the pipe after the answer: wait for them.
	accessLinesOf := func(log string) []map[string]any {
		var lines []map[string]any
		sc := bufio.NewScanner(strings.NewReader(log))
		for sc.Scan() {
			var l map[string]any
			if json.Unmarshal(sc.Bytes(), &l) == nil && l["msg"] == "call" {
				lines = append(lines, l)
			}
		}
		return lines
	}
	accessLines := accessLinesOf(p.logWhen(func(log string) bool { return len(accessLinesOf(log)) >= 2 }))
	lines := len(accessLines)
	for _, l := range accessLines {
		if l["tenant"] != tenant || !uuidRE.MatchString(fmt.Sprint(l["correlation_id"])) || l["attempts"] != float64(1) {
			t.Errorf("access line lacks fields: %v", l)
		}
		if st := l["upstream_status"]; st != float64(200) && st != float64(404) {
			t.Errorf("access line upstream_status = %v", st)
		}
	}
	if lines != 2 {
		t.Errorf("access lines = %d, want 2\n%s", lines, p.log.String())
	}
}

// TestGracefulShutdownDrainsInFlight sends SIGTERM while a call waits on a
// slow upstream: readiness turns NOT_SERVING at once, the call still
// succeeds, and the process exits 0.
func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(20 * time.Second): // a bound
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+contoso+`","companyName":"Slow Co"}`)
	}))
	t.Cleanup(func() { once.Do(func() { close(release) }); slow.Close() })

	// The readiness checks below must run within the shutdown delay, after
	// which the listeners close: 2s was little on a busy machine for a Watch
	// answer and two new connections. Only the delay's window matters here.
	p := start(t, "-upstream-url", slow.URL, "-shutdown-timeout", "8s", "-shutdown-delay", "6s")
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		// -max-time past the shutdown delay (grpcurl runs for at most 10s): the call waits through it.
		out, err := p.grpcurl(t, flags(authH, tenantH, []string{"-max-time", "10", "-d", `{"reseller_id":"` + contoso + `"}`}), "cloudcockpit.v1.ResellerService/GetReseller")
		done <- result{out, err}
	}()
	select {
	case <-arrived: // the call is now waiting upstream
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not reach the upstream")
	}
	// Readiness as a Watch stream reports it: SERVING, then NOT_SERVING once
	// the server got SIGTERM.
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a bound
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var health string
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("readiness before SIGTERM = %v, %v; want SERVING", r, err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err == nil {
		health = r.GetStatus().String()
	}
	if !strings.Contains(health, "NOT_SERVING") {
		t.Errorf("readiness after SIGTERM = %q, want NOT_SERVING during the shutdown delay", health)
	}
	if code := httpStatus(t, "http://"+p.http+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz during the shutdown delay = %d, want 503", code)
	}
	if code := httpStatus(t, "http://"+p.http+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz during the shutdown delay = %d, want 200 (liveness stays up)", code)
	}
	once.Do(func() { close(release) })
	select {
	case r := <-done:
		if r.err != nil || !strings.Contains(r.out, "Slow Co") {
			t.Errorf("in-flight call did not finish: %v\n%s", r.err, r.out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight call still running 10s after SIGTERM")
	}
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Errorf("exit: %v, want status 0", p.exitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still running after the drain")
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestProfiles runs the binary with the profiles listener: calls still go
// through over gRPC and REST, the profiles answer on their own address, and
// the HTTP listener does not serve them.
func TestProfiles(t *testing.T) {
	p := start(t, "-sandbox", "-debug-addr", "127.0.0.1:0")
	debug := p.logged(t, "serving Go runtime profiles")["debug"]
	if strings.Contains(p.log.String(), "not a loopback address") {
		t.Errorf("-debug-addr 127.0.0.1:0 warned that it is not loopback:\n%s", p.log.String())
	}

	out, err := p.grpcurl(t, flags(authH, tenantH, []string{"-d", `{"reseller_id":"` + contoso + `"}`}), "cloudcockpit.v1.ResellerService/GetReseller")
	if err != nil || jsonOf(t, out)["id"] != contoso {
		t.Fatalf("GetReseller over gRPC: %v\n%s", err, out)
	}
	if r := p.get(t, "/v1/Resellers/"+contoso, map[string]string{"Authorization": token, "X-Tenant": tenant}); r.status != http.StatusOK || !strings.Contains(string(r.body), contoso) {
		t.Fatalf("GetReseller over REST: %d %s", r.status, r.body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(path string) (int, []byte) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+debug+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s on -debug-addr: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if code, body := get("/debug/pprof/"); code != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("GET /debug/pprof/ on -debug-addr: %d\n%.300s", code, body)
	}
	// With -debug-addr the runtime samples allocations (without it, main
	// turns heap profiling off): 200 calls, about 6 MB allocated, add samples.
	sampled := func() string {
		_, body := get("/debug/pprof/heap?debug=1&gc=1")
		m := regexp.MustCompile(`^heap profile: \d+: \d+ \[(\d+):`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("GET /debug/pprof/heap?debug=1: %.200s", body)
		}
		return string(m[1])
	}
	before := sampled()
	for range 200 {
		p.get(t, "/v1/Resellers/"+contoso, map[string]string{"Authorization": token, "X-Tenant": tenant})
	}
	if after := sampled(); after == before {
		t.Errorf("heap profile: %s allocations sampled before 200 calls and after: profiling is off", before)
	}
	if r := p.get(t, "/debug/pprof/", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on the HTTP listener: %d, want 404", r.status)
	}
}
