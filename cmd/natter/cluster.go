package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runCluster starts N nodes of this binary on 127.0.0.1 whose embedded
// NATS servers form one cluster, prints their URLs and stops them all on
// SIGINT/SIGTERM (or when one of them exits), waiting for their drains.
func runCluster(args []string) (err error) {
	o, err := parseClusterFlags(args)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cluster: find own binary: %w", err)
	}
	secret, err := clusterSecret(o.dir)
	if err != nil {
		return err
	}
	bound, err := o.stopBound(secret)
	if err != nil {
		return err
	}
	// Room for two signals: the one that stops the cluster and the one
	// that forces it while the nodes drain.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, stopSignals...)
	defer signal.Stop(sig)
	lc := &localCluster{exited: make(chan int, o.nodes), bound: bound}
	// The one cleanup path: every node started is stopped and waited for.
	defer func() {
		if serr := lc.stop(sig); err == nil {
			err = serr
		}
	}()
	for i := range o.nodes {
		if err := lc.start(exe, o.nodeArgs(i, secret)); err != nil {
			return fmt.Errorf("cluster: start node %d: %w", i+1, err)
		}
	}
	go o.announceReady()
	return lc.wait(sig)
}

// clusterOptions are natter cluster's flags.
type clusterOptions struct {
	nodes     int
	port      int
	routePort int
	dir       string
	guests    bool
	apiKey    string
	nodeFlags []string // after --, for every node
}

// parseClusterFlags reads natter cluster's flags.
func parseClusterFlags(args []string) (*clusterOptions, error) {
	o := &clusterOptions{}
	fs := flag.NewFlagSet("natter cluster", flag.ContinueOnError)
	fs.IntVar(&o.nodes, "n", 3, "number of nodes (1-9)")
	fs.IntVar(&o.port, "port", 8080, "HTTP port of the first node; node i listens on port+i")
	fs.IntVar(&o.routePort, "route-port", 6222, "route port of the first node's embedded NATS; node i uses route-port+i")
	fs.StringVar(&o.dir, "data-dir", "./natter-cluster", "parent directory of the nodes' data directories")
	fs.BoolVar(&o.guests, "allow-guests", false, "passed to every node")
	fs.StringVar(&o.apiKey, "api-key", "", "passed to every node")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: natter cluster [flags] [-- node flags]\n\nStarts N natter nodes on 127.0.0.1 with one embedded NATS cluster;\nflags after -- go to every node.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.nodes < 1 || o.nodes > 9 {
		return nil, errors.New("cluster: -n must be between 1 and 9")
	}
	o.nodeFlags = fs.Args()
	return o, nil
}

// nodeArgs are the flags of node i (from 0): its own ports, data
// directory and id, and what all nodes share, with every node routing to
// all so that any of them can come up first.
func (o *clusterOptions) nodeArgs(i int, secret string) []string {
	routes := make([]string, o.nodes)
	for j := range routes {
		routes[j] = fmt.Sprintf("nats://127.0.0.1:%d", o.routePort+j)
	}
	args := []string{
		"--listen", fmt.Sprintf("127.0.0.1:%d", o.port+i),
		"--data-dir", filepath.Join(o.dir, fmt.Sprintf("node%d", i+1)),
		"--node-id", fmt.Sprintf("node%d", i+1),
		"--secret", secret,
		"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", o.routePort+i),
		"--routes", strings.Join(routes, ","),
	}
	if o.guests {
		args = append(args, "--allow-guests")
	}
	if o.apiKey != "" {
		args = append(args, "--api-key", o.apiKey)
	}
	return append(args, o.nodeFlags...)
}

// announceReady prints each node's URL once it is ready, in order, so
// that the user knows when to connect.
func (o *clusterOptions) announceReady() {
	for i := range o.nodes {
		url := fmt.Sprintf("http://127.0.0.1:%d/", o.port+i)
		waitReady(url + "readyz")
		fmt.Printf("node%d ready: %s\n", i+1, url)
	}
}

// stopGrace is how long a node may take to exit after its drain's
// deadline: closing NATS and the store come after the drain.
const stopGrace = 10 * time.Second

// stopBound is how long stop waits for the nodes to exit: the drain
// delay and timeout the nodes will run with, read the way they read them
// (flags after --, environment, config file), plus stopGrace. The nodes
// differ only in ports, id and data directory, so the first one's
// settings hold for all; a setting a node would refuse fails here, before
// any node starts.
func (o *clusterOptions) stopBound(secret string) (time.Duration, error) {
	opts, err := parseFlags(o.nodeArgs(0, secret))
	if err != nil {
		return 0, fmt.Errorf("cluster: node settings: %w", err)
	}
	return opts.drainDelay + opts.drainTimeout + stopGrace, nil
}

// localCluster is the node processes started so far; exited gets the
// index of each one that exits. bound is how long stop waits for them.
type localCluster struct {
	procs  []*exec.Cmd
	exited chan int
	bound  time.Duration
}

// start starts a node process with args, its output on ours. The node
// gets a process group of its own (where the platform has them), so that
// a Ctrl-C in the terminal reaches this process only: the node drains on
// the one SIGTERM that stop sends. Had it the terminal's SIGINT too, it
// would drain on that, and stop's SIGTERM, a second signal, would kill it
// mid-drain.
func (lc *localCluster) start(exe string, args []string) error {
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	i := len(lc.procs)
	lc.procs = append(lc.procs, cmd)
	go func() { _ = cmd.Wait(); lc.exited <- i }()
	return nil
}

// wait returns when the user stops the cluster, or with an error when a
// node exits on its own: a cluster missing a node is not what was asked
// for.
func (lc *localCluster) wait(sig <-chan os.Signal) error {
	select {
	case <-sig:
		fmt.Println("stopping the cluster: the nodes drain (a second Ctrl-C kills them)")
		return nil
	case i := <-lc.exited:
		lc.exited <- i // stop waits for every exit, this one included
		return fmt.Errorf("cluster: node%d exited", i+1)
	}
}

// stop sends every node started one SIGTERM, so that each drains once,
// and waits until all have exited. Nodes still running after lc.bound, or
// when another signal comes, are killed: an error says so.
func (lc *localCluster) stop(sig <-chan os.Signal) error {
	for _, p := range lc.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(lc.bound)
	defer timer.Stop()
	alive := make(map[int]bool, len(lc.procs))
	for i := range lc.procs {
		alive[i] = true
	}
	var err error
	for len(alive) > 0 {
		select {
		case i := <-lc.exited:
			delete(alive, i)
		case <-sig:
			err = errors.New("cluster: stopped by a second signal; nodes still draining were killed")
			lc.kill(alive)
		case <-timer.C:
			err = fmt.Errorf("cluster: nodes still running %v after the stop; killed", lc.bound)
			lc.kill(alive)
		}
	}
	return err
}

// kill sends SIGKILL to the nodes in alive; their exits still arrive on
// lc.exited.
func (lc *localCluster) kill(alive map[int]bool) {
	for i := range alive {
		_ = lc.procs[i].Process.Kill()
	}
}

// clusterSecret returns the secret shared by the local cluster's nodes,
// generated into dir on first use.
func clusterSecret(dir string) (string, error) {
	path := filepath.Join(dir, "secret")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := hex.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	return s, nil
}

// waitReady polls a readiness URL for up to two minutes.
func waitReady(url string) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}
