// Command natter-bench is natter's load generator, a thin shell over
// package bench: it parses flags, runs one scenario and prints the
// report. It exits 1 when the run lost, duplicated or reordered a message
// (or could not run), 2 on bad usage.
//
//	natter-bench rooms --url ws://127.0.0.1:8080/ws --guests --duration 10s
//	natter-bench idle  --url ws://127.0.0.1:8080/ws --guests --conns 15000 --source-ips 127.0.0.2-127.0.0.9
//	natter-bench floor --conns 5000 --reader-cpu 0   (the kernel's cost of one small write)
//	natter-bench worker   (internal: a worker process, JSON over stdin/stdout)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/natterchat/natter/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && args[0] == "worker" {
		if err := bench.RunWorker(ctx, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(stderr, "natter-bench worker:", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 && args[0] == "floor-reader" {
		return runFloorReader(ctx, args[1:], stderr)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		usage(stderr)
		return 2
	}
	if args[0] == "floor" {
		return runFloor(ctx, args[1:], stdout, stderr)
	}
	cfg, out, err := parseFlags(args[0], args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "natter-bench:", err)
		return 2
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "natter-bench:", err)
		return 1
	}
	if out.json {
		err = res.WriteJSON(stdout)
	} else {
		err = res.WriteTable(stdout)
	}
	if err == nil && out.html != "" {
		err = writeHTML(res, out.html)
	}
	if err == nil && out.svgDir != "" {
		err = res.WriteSVG(out.svgDir, out.svgPrefix)
	}
	if err != nil {
		fmt.Fprintln(stderr, "natter-bench:", err)
		return 1
	}
	if !res.OK() {
		fmt.Fprintf(stderr, "natter-bench: RUN FAILED: %s\n", strings.Join(res.Problems, "; "))
		return 1
	}
	return 0
}

func writeHTML(res *bench.Result, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create html report: %w", err)
	}
	if err := res.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type output struct {
	json      bool
	html      string
	svgDir    string
	svgPrefix string
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `Usage: natter-bench SCENARIO [flags]

Scenarios: %s
Run "natter-bench SCENARIO --help" for the flags.

natter-bench floor [flags] measures the kernel's floor: the CPU of one
small write to a loopback socket read by another process.
`, strings.Join(bench.Scenarios, ", "))
}

// parseFlags reads one scenario's flags; the names are stable (scripts
// depend on them).
func parseFlags(scenario string, args []string, stderr io.Writer) (bench.Config, output, error) {
	var (
		c     = bench.Config{Scenario: scenario}
		o     output
		urls  string
		srcs  string
		stats string
		quiet bool
	)
	fs := flag.NewFlagSet("natter-bench "+scenario, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&urls, "url", "ws://127.0.0.1:8080/ws", "node WebSocket URLs, comma-separated; connections go round-robin (see --room-affinity)")
	fs.StringVar(&c.APIKey, "api-key", "", "the nodes' server API key (optional)")
	fs.BoolVar(&c.Guests, "guests", false, "connect as guests (node runs with --allow-guests); default: register accounts through the API")
	fs.IntVar(&c.Conns, "conns", 100, "connections (one user each)")
	fs.IntVar(&c.RoomSize, "room-size", 10, "members per room (rooms, history, idle; idle: -1 for no rooms)")
	fs.StringVar(&c.RoomAffinity, "room-affinity", bench.AffinityNone, "none: a room's members are a shuffle of all connections, on most nodes; node: room r's members all use --url r mod the number of URLs (users routed by their chats)")
	fs.IntVar(&c.QuietChats, "quiet-chats", 0, "more chats per user besides its room, rooms of --room-size nobody sends to (accounts only; reconnect resumes them too)")
	fs.IntVar(&c.Senders, "senders", 0, "sending connections (default: one per room; broadcast 10)")
	fs.Float64Var(&c.Rate, "rate", 0, "messages/s per sender (default 5); connect and idle: connections/s (default 1000)")
	fs.Float64Var(&c.ConnectRate, "connect-rate", 1000, "connections/s during ramp-up of the message scenarios")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to send (or hold, for idle)")
	fs.DurationVar(&c.Grace, "grace", 5*time.Second, "wait for messages in flight after sending stops")
	fs.DurationVar(&c.Settle, "settle", time.Second, "pause between the last join and the first send")
	fs.Int64Var(&c.Seed, "seed", 1, "seed of the room layout and send phases")
	fs.IntVar(&c.Workers, "workers", 0, "worker processes (default: one per 9000 connections; 1 = in process)")
	fs.StringVar(&stats, "stats-url", "", "where each --url's node serves /api/stats (http://host:port, comma-separated, in --url's order) when it is on an admin port (--admin-listen)")
	fs.StringVar(&srcs, "source-ips", "", "loopback source addresses for client sockets, e.g. 127.0.0.2-127.0.0.9")
	fs.IntVar(&c.HistoryClients, "history-clients", 0, "history scenario: connections paging through history (default conns/10)")
	fs.IntVar(&c.PID, "pid", 0, "idle: the node's process id (default: found by the URL's port)")
	fs.StringVar(&c.RunID, "run-id", "", "names the run's rooms and users (default from the time)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.StringVar(&o.html, "html", "", "also write a self-contained HTML report to this file")
	fs.StringVar(&o.svgDir, "svg", "", "also write the report's charts as SVG files into this directory ("+strings.Join(bench.SVGFiles[:], ", ")+")")
	fs.StringVar(&o.svgPrefix, "svg-prefix", "", "prefix of the SVG file names (e.g. rooms-)")
	fs.DurationVar(&c.P99Max, "p99-max", 0, "fail the run when the publish->deliver p99 is longer than this (0: report latency, do not judge it)")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return c, o, err
	}
	if fs.NArg() > 0 {
		return c, o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.URLs = append(c.URLs, u)
		}
	}
	for _, u := range strings.Split(stats, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.StatsURLs = append(c.StatsURLs, u)
		}
	}
	if srcs != "" {
		ips, err := bench.ParseIPRange(srcs)
		if err != nil {
			return c, o, err
		}
		c.SourceIPs = ips
	}
	if !quiet {
		c.Progress = func(s string) { fmt.Fprintf(stderr, "[%s] %s\n", time.Now().Format("15:04:05"), s) }
	}
	return c, o, nil
}
