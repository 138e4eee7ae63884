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
// SIGINT/SIGTERM (or when one of them exits).
func runCluster(args []string) error {
	fs := flag.NewFlagSet("natter cluster", flag.ContinueOnError)
	nodes := fs.Int("n", 3, "number of nodes (1-9)")
	port := fs.Int("port", 8080, "HTTP port of the first node; node i listens on port+i")
	routePort := fs.Int("route-port", 6222, "route port of the first node's embedded NATS; node i uses route-port+i")
	dir := fs.String("data-dir", "./natter-cluster", "parent directory of the nodes' data directories")
	guests := fs.Bool("allow-guests", false, "passed to every node")
	apiKey := fs.String("api-key", "", "passed to every node")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: natter cluster [flags] [-- node flags]\n\nStarts N natter nodes on 127.0.0.1 with one embedded NATS cluster;\nflags after -- go to every node.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nodes < 1 || *nodes > 9 {
		return errors.New("cluster: -n must be between 1 and 9")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cluster: find own binary: %w", err)
	}
	secret, err := clusterSecret(*dir)
	if err != nil {
		return err
	}
	routes := make([]string, *nodes)
	for i := range routes {
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", *routePort+i)
	}
	procs := make([]*exec.Cmd, 0, *nodes)
	exited := make(chan int, *nodes)
	stopAll := func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for range procs {
			<-exited
		}
	}
	for i := range *nodes {
		args := []string{
			"--listen", fmt.Sprintf("127.0.0.1:%d", *port+i),
			"--data-dir", filepath.Join(*dir, fmt.Sprintf("node%d", i+1)),
			"--node-id", fmt.Sprintf("node%d", i+1),
			"--secret", secret,
			"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", *routePort+i),
			"--routes", strings.Join(routes, ","),
		}
		if *guests {
			args = append(args, "--allow-guests")
		}
		if *apiKey != "" {
			args = append(args, "--api-key", *apiKey)
		}
		args = append(args, fs.Args()...)
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			stopAll()
			return fmt.Errorf("cluster: start node %d: %w", i+1, err)
		}
		procs = append(procs, cmd)
		go func(i int) { _ = cmd.Wait(); exited <- i }(i)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		for i := range *nodes {
			url := fmt.Sprintf("http://127.0.0.1:%d/", *port+i)
			waitReady(url + "readyz")
			fmt.Printf("node%d ready: %s\n", i+1, url)
		}
	}()
	select {
	case <-sig:
		fmt.Println("stopping the cluster")
		stopAll()
		return nil
	case i := <-exited:
		exited <- i // stopAll waits for every exit, this one included
		stopAll()
		return fmt.Errorf("cluster: node%d exited", i+1)
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
