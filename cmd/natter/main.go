// Command natter runs one natter node: the WebSocket chat server, its HTTP
// API and browser page on one port, with an embedded NATS server (or an
// external one) for fan-out and JetStream for storage.
//
//	go run ./cmd/natter                # embedded NATS, data in ./natter-data
//	go run ./cmd/natter --help         # every setting, by group
//	go run ./cmd/natter --version      # the build: version, VCS revision, Go
//	go run ./cmd/natter cluster -n 3   # three nodes on 127.0.0.1, one NATS cluster
//	go run ./cmd/natter chat --url ws://localhost:8080 --guest --room '#general'
//
// Every setting is a flag, an environment variable NATTER_<NAME> (e.g.
// NATTER_LISTEN=:9000) and a key of the optional config file (--config
// natter.yaml or .toml); a flag wins over the environment, the environment
// over the file. docs/configuration.md lists them all.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/natterchat/natter/internal/version"
	"github.com/natterchat/natter/node"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // --help printed the usage
		}
		fmt.Fprintln(os.Stderr, "natter:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "cluster":
			return runCluster(args[1:])
		case "chat":
			return runChat(args[1:])
		case "help":
			_, err := parseFlags([]string{"--help"})
			return err
		case "version", "--version", "-version":
			fmt.Println("natter", version.Get())
			return nil
		}
	}
	opts, err := parseFlags(args)
	if err != nil {
		return err
	}
	log := newLogger(opts.logFormat, opts.logLevel)
	cfg := opts.nodeConfig(log)

	// No TCP keepalive probes: a WebSocket's pings find a silent peer
	// (--ping-interval, --idle-timeout) and the HTTP server has its own
	// timeouts, while turning probes on cost four setsockopt calls per
	// accepted connection, a few per cent of a connection storm's CPU.
	lc := net.ListenConfig{KeepAlive: -1}
	l, err := lc.Listen(context.Background(), "tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.listen, err)
	}
	startingTLS, err := opts.startingTLS()
	if err != nil {
		l.Close()
		return err
	}
	stopStarting := answerStarting(l, startingTLS)
	n, err := node.New(cfg)
	stopStarting()
	if err != nil {
		l.Close()
		return err
	}
	secure := startingTLS != nil
	fmt.Printf("natter node %s: open %s in a browser (WebSocket at %s)\n", n.ID(), pageURL(l.Addr(), secure), wsURL(l.Addr(), secure))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if secure {
		go reloadOnHangup(ctx, n)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- n.Serve(l) }()

	select {
	case err := <-serveErr:
		_ = n.Shutdown(context.Background())
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	stop() // a second signal kills the process the default way
	log.Info("signal received; draining", slog.Duration("deadline", opts.drainTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), opts.drainDelay+opts.drainTimeout)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	<-serveErr
	return nil
}

// pageURL turns a listen address into a URL a browser on this machine can
// open (":8080" listens everywhere; localhost reaches it).
func pageURL(a net.Addr, secure bool) string {
	if secure {
		return "https://" + hostPort(a) + "/"
	}
	return "http://" + hostPort(a) + "/"
}

func wsURL(a net.Addr, secure bool) string {
	if secure {
		return "wss://" + hostPort(a) + "/ws"
	}
	return "ws://" + hostPort(a) + "/ws"
}

// reloadOnHangup reads the TLS certificate files again on every SIGHUP
// until ctx ends (the node also checks them every
// --tls-reload-interval); the node logs the outcome.
func reloadOnHangup(ctx context.Context, n *node.Node) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = n.ReloadTLS()
		}
	}
}

// startingTLS is the TLS configuration of the "starting" answers while
// the node starts: the certificate as it is now. Loading it here also
// stops a node whose certificate does not load before anything starts.
func (o *options) startingTLS() (*tls.Config, error) {
	if o.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", o.tlsCert, o.tlsKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}, nil
}

func hostPort(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func newLogger(format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	o := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, o))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, o))
}
