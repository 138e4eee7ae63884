package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testport"
	"github.com/natterchat/natter/internal/testwait"
)

// natterBin is the natter binary the process tests run, built once.
var natterBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "natter-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	natterBin = filepath.Join(dir, "natter")
	if out, err := exec.Command("go", "build", "-ldflags=-X "+versionVar+"="+testVersion, "-o", natterBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build natter: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testSecret = "cluster-test-secret-0123456"
	testAPIKey = "cluster-test-api-key"
)

// proc is one natter node process.
type proc struct {
	t        testing.TB
	name     string
	addr     string // HTTP host:port
	natsAddr string // the embedded NATS server's client port, if it has one
	dataDir  string
	cmd      *exec.Cmd
	logPath  string
	exited   chan struct{}
}

// startProc runs natter with args plus the common test flags.
func startProc(t testing.TB, name, addr, dataDir string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, addr: addr, dataDir: dataDir, logPath: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"--listen", addr, "--data-dir", dataDir, "--node-id", name, "--secret", testSecret,
		"--api-key", testAPIKey, "--log-level", "info"}, args...)
	p.cmd = exec.Command(natterBin, all...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			p.dumpLog()
		}
	})
	return p
}

// stop sends SIGTERM and waits (then kills) — the graceful path.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Errorf("%s did not exit within 20s of SIGTERM", p.name)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// kill sends SIGKILL: the node dies without a word.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Errorf("%s did not exit within 20s of SIGKILL", p.name)
	}
}

func (p *proc) dumpLog() {
	f, err := os.Open(p.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Route dial errors while peers start or die are expected noise.
		if !strings.Contains(sc.Text(), "Error trying to connect to route") {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	p.t.Logf("last log lines of %s:\n%s", p.name, strings.Join(lines, "\n"))
}

// waitReady polls /readyz until 200.
func (p *proc) waitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			p.dumpLog()
			p.t.Fatalf("%s exited while starting", p.name)
		default:
		}
		resp, err := probeClient.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.dumpLog()
	p.t.Fatalf("%s not ready within %v", p.name, timeout)
}

// freeAddrs returns n 127.0.0.1 addresses on ports free when chosen.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for _, p := range testport.Free(t, n) {
		out = append(out, fmt.Sprintf("127.0.0.1:%d", p))
	}
	return out
}

// nodeArgs gives node i (0-based) of a cluster its own flags; nil gives
// none.
type nodeArgs func(i int) []string

func (f nodeArgs) of(i int) []string {
	if f == nil {
		return nil
	}
	return f(i)
}

// startEmbeddedCluster starts n nodes whose embedded NATS servers form
// one cluster; each also opens a NATS client port (proc.natsAddr), so
// that a test can ask JetStream about the stream.
func startEmbeddedCluster(t testing.TB, n int, args nodeArgs) []*proc {
	t.Helper()
	addrs := freeAddrs(t, 3*n)
	routes := make([]string, n)
	for i := range n {
		routes[i] = "nats://" + addrs[n+i]
	}
	procs := make([]*proc, n)
	for i := range n {
		all := append([]string{"--cluster-listen", addrs[n+i], "--routes", strings.Join(routes, ","),
			"--nats-listen", addrs[2*n+i]}, args.of(i)...)
		procs[i] = startProc(t, fmt.Sprintf("node%d", i+1), addrs[i], t.TempDir(), all...)
		procs[i].natsAddr = addrs[2*n+i]
	}
	for _, p := range procs {
		p.waitReady(2 * time.Minute)
	}
	return procs
}

// startSharedNATSCluster starts n nodes that share one external NATS.
func startSharedNATSCluster(t testing.TB, n int, natsURL string, args nodeArgs) []*proc {
	t.Helper()
	addrs := freeAddrs(t, n)
	procs := make([]*proc, n)
	for i := range n {
		procs[i] = startProc(t, fmt.Sprintf("node%d", i+1), addrs[i], t.TempDir(), append([]string{"--nats-url", natsURL}, args.of(i)...)...)
	}
	for _, p := range procs {
		p.waitReady(time.Minute)
	}
	return procs
}

// probeClient bounds a /readyz probe.
var probeClient = &http.Client{Timeout: 5 * time.Second}

// apiClient bounds every API call of the tests; the nodes answer within
// their request timeout (15 s by default).
var apiClient = &http.Client{Timeout: time.Minute}

// api calls a node's HTTP API and decodes the answer into out.
func api(t testing.TB, addr, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+addr+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

type account struct{ ID, Name, Token string }

func register(t testing.TB, addr, name string) account {
	t.Helper()
	var out struct{ User, Name, Token string }
	if st := api(t, addr, "POST", "/api/users", "", map[string]string{"name": name, "password": "password-" + name}, &out); st != http.StatusCreated {
		t.Fatalf("register %s: %d", name, st)
	}
	return account{out.User, out.Name, out.Token}
}

// createRoom creates a public room through the API.
func createRoom(t testing.TB, addr string, owner account, name string) string {
	t.Helper()
	var out struct{ ID string }
	if st := api(t, addr, "POST", "/api/chats", owner.Token, map[string]any{"name": name, "kind": "public"}, &out); st != http.StatusCreated {
		t.Fatalf("create room %s: %d", name, st)
	}
	return out.ID
}

// join makes a user a member of a public chat through the API.
func join(t testing.TB, addr string, a account, chat string) {
	t.Helper()
	if st := api(t, addr, "POST", "/api/chats/"+chat+"/join", a.Token, nil, nil); st != http.StatusOK {
		t.Fatalf("join %s: %d", chat, st)
	}
}

// stats reads a node's /api/stats.
func stats(t testing.TB, addr string) map[string]any {
	t.Helper()
	var out map[string]any
	api(t, addr, "GET", "/api/stats", "", nil, &out)
	return out
}

// checkFor polls f every 50*time.Millisecond until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	testwait.For(t, timeout, 50*time.Millisecond, f)
}
