package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/natterchat/natter/node"
)

// options are the command line's settings; nodeConfig turns them into a
// node.Config.
type options struct {
	listen         string
	dataDir        string
	natsURL        string
	secret         string
	apiKey         string
	allowGuests    bool
	nodeID         string
	clusterListen  string
	routes         string
	clusterName    string
	natsListen     string
	replicas       int
	allowedOrigins string
	logFormat      string
	logLevel       string
	drainTimeout   time.Duration
}

// parseFlags reads flags, then NATTER_<NAME> environment variables for
// every flag not given on the command line.
func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("natter", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", ":8080", "address of the HTTP API, /ws and the browser page")
	fs.StringVar(&o.dataDir, "data-dir", "./natter-data", "directory for JetStream storage, the generated secret and node id")
	fs.StringVar(&o.natsURL, "nats-url", "", "external NATS server URL(s) with JetStream, comma-separated; empty: run an embedded server")
	fs.StringVar(&o.secret, "secret", "", "token signing secret (at least 16 characters; the same on every node); empty: generated into the data dir")
	fs.StringVar(&o.apiKey, "api-key", "", "enables the server API (POST /api/broadcast) for 'Authorization: Bearer KEY'")
	fs.BoolVar(&o.allowGuests, "allow-guests", false, "give connections without a token a guest identity for the connection's lifetime")
	fs.StringVar(&o.nodeID, "node-id", "", "this node's id in the cluster; empty: generated once and kept in the data dir")
	fs.StringVar(&o.clusterListen, "cluster-listen", "", "embedded NATS route address (host:port) for clustering the nodes' embedded servers")
	fs.StringVar(&o.routes, "routes", "", "the other nodes' route URLs, comma-separated (nats://h2:6222,nats://h3:6222)")
	fs.StringVar(&o.clusterName, "cluster-name", "natter", "name of the embedded NATS cluster")
	fs.StringVar(&o.natsListen, "nats-listen", "", "expose the embedded NATS server's client port (host:port), for the nats CLI or other nodes")
	fs.IntVar(&o.replicas, "replicas", 0, "JetStream replicas of the stream and buckets; 0: 3 in an embedded cluster of 3 or more, else 1")
	fs.StringVar(&o.allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides the node's own host ('*' for any)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 30*time.Second, "how long a SIGINT/SIGTERM drain may take before the node exits anyway")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: natter [flags]\n\nRuns one natter chat node. Every flag can also be set as NATTER_<NAME>\n(upper case, dashes as underscores), e.g. NATTER_LISTEN=:9000.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "NATTER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(env)
		if given[f.Name] || !ok || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", env, v, e)
		}
	})
	if err != nil {
		return nil, err
	}
	return o, o.validate()
}

func (o *options) validate() error {
	switch {
	case o.logFormat != "text" && o.logFormat != "json":
		return fmt.Errorf("--log-format must be text or json, not %q", o.logFormat)
	case o.secret != "" && len(o.secret) < 16:
		return fmt.Errorf("--secret must be at least 16 characters")
	case o.drainTimeout <= 0:
		return fmt.Errorf("--drain-timeout must be positive")
	case o.routes != "" && o.clusterListen == "":
		return fmt.Errorf("--routes needs --cluster-listen")
	case o.natsURL != "" && (o.clusterListen != "" || o.natsListen != ""):
		return fmt.Errorf("--nats-url uses an external NATS; --cluster-listen and --nats-listen configure the embedded one")
	case o.replicas < 0 || o.replicas > 5:
		return fmt.Errorf("--replicas must be between 0 (auto) and 5")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	return nil
}

func (o *options) nodeConfig(log *slog.Logger) node.Config {
	cfg := node.Config{
		NodeID:        o.nodeID,
		DataDir:       o.dataDir,
		NATSURL:       o.natsURL,
		Secret:        o.secret,
		APIKey:        o.apiKey,
		AllowGuests:   o.allowGuests,
		ClusterListen: o.clusterListen,
		ClusterName:   o.clusterName,
		NATSListen:    o.natsListen,
		Replicas:      o.replicas,
		Logger:        log,
	}
	for _, r := range strings.Split(o.routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	for _, origin := range strings.Split(o.allowedOrigins, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, origin)
		}
	}
	return cfg
}
