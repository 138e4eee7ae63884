package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/natterchat/natter/node"
	"github.com/natterchat/natter/store"
)

// options are the node's settings after flags, environment and config
// file; nodeConfig turns them into a node.Config.
type options struct {
	configFile string

	// Network
	listen           string
	workers          int
	pingInterval     time.Duration
	idleTimeout      time.Duration
	noticeDelay      time.Duration
	handshakeTimeout time.Duration
	headerTimeout    time.Duration
	maxHandshakes    int
	maxPendingSource int
	maxPending       int

	// Cluster
	nodeID            string
	natsURL           string
	clusterListen     string
	routes            string
	clusterName       string
	natsListen        string
	leafListen        string
	leafRemotes       string
	jsDomain          string
	natsMonitor       string
	replicas          int
	streams           int
	heartbeatInterval time.Duration
	presenceGrace     time.Duration
	nodeDeadAfter     time.Duration
	startTimeout      time.Duration

	// Security
	secret         string
	apiKey         string
	allowGuests    bool
	allowedOrigins string
	tokenTTL       time.Duration
	passwordCost   int
	loginFailAcct  int
	loginFailSrc   int
	registerSrc    int
	authWindow     time.Duration

	// Transport security
	tlsCert         string
	tlsKey          string
	tlsReload       time.Duration
	clusterTLSCert  string
	clusterTLSKey   string
	clusterTLSCA    string
	clusterUser     string
	clusterPassword string
	natsCreds       string
	natsNKey        string
	natsTLSCert     string
	natsTLSKey      string
	natsTLSCA       string

	// Limits
	maxConnections    int
	maxDevicesPerUser int
	maxRoomsPerUser   int
	receiptsMax       int
	maxMessageLen     int
	maxFrameSize      int64
	maxOutboundBytes  int64
	rateLimit         float64
	rateBurst         int
	resumeLimit       int
	requestTimeout    time.Duration

	// Storage
	dataDir        string
	messageMaxAge  time.Duration
	maxMsgsPerChat int64
	dedupWindow    time.Duration
	sync           string

	// Logging and operations
	logFormat    string
	logLevel     string
	drainTimeout time.Duration
	drainDelay   time.Duration
	drainBatch   int
	drainEvery   time.Duration
	adminListen  string
	debugPprof   bool
	stormGC      int
	stormNotice  time.Duration
}

// The setting groups of natter --help and docs/configuration.md, in order.
const (
	groupNetwork  = "Network"
	groupCluster  = "Cluster"
	groupSecurity = "Security"
	groupTLS      = "Transport security"
	groupLimits   = "Limits"
	groupStorage  = "Storage"
	groupOps      = "Logging and operations"
)

var groupOrder = []string{groupNetwork, groupCluster, groupSecurity, groupTLS, groupLimits, groupStorage, groupOps}

// defineSettings declares every node setting, bound to o's fields, with
// its default (the node's own default where node.Config has one).
func defineSettings(o *options) *settings {
	s := newSettings()

	g := groupNetwork
	s.str(&o.listen, "listen", "ADDR", ":8080", g, "address (host:port) of the HTTP API, /ws and the browser page, all on one port")
	s.intv(&o.workers, "workers", "N", 0, g, "worker goroutines that read, parse and write WebSocket connections").defaultText("auto: 2 per CPU, at least 4")
	s.dur(&o.pingInterval, "ping-interval", 30*time.Second, g, "ping a connection that has been silent this long")
	s.dur(&o.idleTimeout, "idle-timeout", 75*time.Second, g, "close a connection (4000) that has been silent this long, pongs included; longer than --ping-interval").defaultText("75s")
	s.dur(&o.noticeDelay, "notice-delay", 250*time.Millisecond, g, "longest a notice about others (a join, a leave, online, offline) waits to leave in one write with a device's other frames (and a 101 or a joiner's MemberList for the frames right behind it)")
	s.dur(&o.headerTimeout, "header-timeout", 2*time.Second, g, "longest time from accept to the end of a request's head (WebSocket or HTTP)")
	s.dur(&o.handshakeTimeout, "handshake-timeout", 5*time.Second, g, "longest time from a WebSocket request's head to the finished upgrade")
	s.intv(&o.maxHandshakes, "max-handshakes", "N", 32, g, "WebSocket upgrades in progress, each with its device's setup (resumes and room included); more wait for one within --handshake-timeout")
	s.intv(&o.maxPendingSource, "max-pending-per-source", "N", 64, g, "connections of one source address whose request head is still coming, once a quarter of --max-pending is; more are closed at once (-1: no cap; raise it behind a load balancer)")
	s.intv(&o.maxPending, "max-pending", "N", 4096, g, "connections whose request head is still coming, in all; more are closed at once")

	g = groupCluster
	s.str(&o.nodeID, "node-id", "ID", "", g, "this node's id in the cluster").defaultText("generated once, kept in the data dir")
	s.str(&o.natsURL, "nats-url", "URLS", "", g, "external NATS server URL(s) with JetStream, comma-separated, instead of the embedded server").defaultText("embedded server")
	s.str(&o.clusterListen, "cluster-listen", "ADDR", "", g, "route address (host:port) of the embedded NATS server, for clustering the nodes' embedded servers").defaultText("no clustering")
	s.list(&o.routes, "routes", "URLS", g, "the other nodes' route URLs, comma-separated (nats://h2:6222,nats://h3:6222); needs --cluster-listen")
	s.str(&o.clusterName, "cluster-name", "NAME", "natter", g, "name of the embedded NATS cluster")
	s.str(&o.natsListen, "nats-listen", "ADDR", "", g, "expose the embedded NATS server's client port (host:port), for the nats CLI or nodes using --nats-url").defaultText("no client port")
	s.str(&o.leafListen, "leafnode-listen", "ADDR", "", g, "accept leaf node connections (host:port) from the embedded NATS servers of a site's nodes: this node is a hub node; needs --jetstream-domain").defaultText("none")
	s.list(&o.leafRemotes, "leafnode-remote", "URLS", g, "make the embedded NATS server a leaf of a hub (nats-leaf://hub1:7422,nats-leaf://hub2:7422): this node is a site node using the hub's JetStream; needs --jetstream-domain")
	s.str(&o.jsDomain, "jetstream-domain", "NAME", "", g, "JetStream domain: a hub node's own (the same on every hub node), a site node's hub's, or an external NATS's").defaultText("none")
	s.str(&o.natsMonitor, "nats-monitor", "ADDR", "", g, "expose the embedded NATS server's HTTP monitoring (/varz, /jsz, ...) on host:port, for nats-top, prometheus-nats-exporter and the like").defaultText("off")
	s.intv(&o.replicas, "replicas", "N", 0, g, "JetStream replicas of the message stream and buckets (1-5)").defaultText("auto: 3 in an embedded cluster of 3 or more, else 1")
	s.intv(&o.streams, "streams", "K", 1, g, "message streams chats are spread over by a hash of the chat id, their leaders on different nodes (1-64); fixed when the cluster is created, every node must give the same (docs/cluster.md)")
	s.dur(&o.heartbeatInterval, "heartbeat-interval", time.Second, g, "how often the node tells the cluster it is alive")
	s.dur(&o.presenceGrace, "presence-grace", node.DefaultPresenceGrace, g, "how long a registered user's closed device still counts as online, so a client that reconnects within it (to any node) is never seen offline; 0: offline at once")
	s.dur(&o.nodeDeadAfter, "node-dead-after", 0, g, "how long without a heartbeat before the other nodes count a node dead and its devices offline; longer than --heartbeat-interval").defaultText("5 × --heartbeat-interval, so 5s")
	s.dur(&o.startTimeout, "start-timeout", 2*time.Minute, g, "how long to wait at start for JetStream (a cluster needs its meta leader and enough peers)")

	g = groupSecurity
	s.str(&o.secret, "secret", "S", "", g, "token signing secret, at least 16 characters, the same on every node").defaultText("generated into the data dir")
	s.str(&o.apiKey, "api-key", "KEY", "", g, "enable the server API (POST /api/broadcast) for 'Authorization: Bearer KEY'").defaultText("server API off")
	s.boolv(&o.allowGuests, "allow-guests", false, g, "give connections without a token a guest identity for the connection's lifetime")
	s.list(&o.allowedOrigins, "allowed-origins", "LIST", g, "browser origins (scheme://host[:port]) allowed to open WebSockets besides the node's own host, comma-separated; * for any").defaultText("own host only")
	s.dur(&o.tokenTTL, "token-ttl", 24*time.Hour, g, "how long issued tokens are valid")
	s.intv(&o.passwordCost, "password-cost", "N", 10, g, "bcrypt cost of new password hashes, 4-31: each step doubles the CPU of a registration and a login (lower only for load tests)")
	s.intv(&o.loginFailAcct, "max-login-failures-per-account", "N", 10, g, "failed logins naming one account, cluster-wide, before its logins are refused (429) for --auth-limit-window (-1: no cap)")
	s.intv(&o.loginFailSrc, "max-login-failures-per-source", "N", 100, g, "failed logins from one source address, cluster-wide, before its logins are refused (429) for --auth-limit-window (-1: no cap; behind a proxy every client has its address)")
	s.intv(&o.registerSrc, "max-registrations-per-source", "N", 20, g, "registrations from one source address, cluster-wide, before its registrations are refused (429) for --auth-limit-window (-1: no cap)")
	s.dur(&o.authWindow, "auth-limit-window", 10*time.Minute, g, "how long a refusal lasts after the last counted failed login or registration, and how long counts last without one; the same on every node")

	g = groupTLS
	s.str(&o.tlsCert, "tls-cert", "FILE", "", g, "serve the page, the API and wss over TLS with this certificate (PEM, chain after the leaf); needs --tls-key").defaultText("none: plain HTTP and ws")
	s.str(&o.tlsKey, "tls-key", "FILE", "", g, "the private key (PEM) of --tls-cert")
	s.dur(&o.tlsReload, "tls-reload-interval", 5*time.Second, g, "how often the --tls-cert and --tls-key files are checked for a change (also on SIGHUP); new handshakes get a changed pair, one that does not load keeps the old")
	s.str(&o.clusterTLSCert, "cluster-tls-cert", "FILE", "", g, "certificate (PEM) the embedded NATS server presents on its routes, both ways; needs --cluster-tls-key, --cluster-tls-ca and --cluster-listen").defaultText("none: routes in the clear")
	s.str(&o.clusterTLSKey, "cluster-tls-key", "FILE", "", g, "the private key (PEM) of --cluster-tls-cert")
	s.str(&o.clusterTLSCA, "cluster-tls-ca", "FILE", "", g, "CA (PEM) that signed the other nodes' route certificates; routes from others are refused")
	s.str(&o.clusterUser, "cluster-user", "NAME", "", g, "user every route must present (with --cluster-password), the same on every node").defaultText("none: routes unauthenticated")
	s.str(&o.clusterPassword, "cluster-password", "S", "", g, "password of --cluster-user")
	s.str(&o.natsCreds, "nats-creds", "FILE", "", g, "NATS credentials file (user JWT and NKey seed) for --nats-url").defaultText("none")
	s.str(&o.natsNKey, "nats-nkey", "FILE", "", g, "file holding an NKey user seed (SU...) for --nats-url; not with --nats-creds").defaultText("none")
	s.str(&o.natsTLSCert, "nats-tls-cert", "FILE", "", g, "client certificate (PEM) presented to --nats-url; needs --nats-tls-key").defaultText("none")
	s.str(&o.natsTLSKey, "nats-tls-key", "FILE", "", g, "the private key (PEM) of --nats-tls-cert")
	s.str(&o.natsTLSCA, "nats-tls-ca", "FILE", "", g, "CA (PEM) the --nats-url server's certificate is checked against").defaultText("the system's roots")

	g = groupLimits
	s.intv(&o.maxConnections, "max-connections", "N", 1_000_000, g, "WebSocket connections on this node; past it handshakes get 503 (the open-files limit may be lower)")
	s.intv(&o.maxDevicesPerUser, "max-devices-per-user", "N", 64, g, "connections of one user on this node")
	s.intv(&o.maxRoomsPerUser, "max-rooms-per-user", "N", 1000, g, "chats one user may be a member of")
	s.intv(&o.receiptsMax, "receipts-max-members", "N", 50, g, "largest group whose members all see each other's read markers (direct chats always do; 0: direct chats only)")
	s.intv(&o.maxMessageLen, "max-message-len", "N", 4000, g, "longest message text, in characters")
	s.size(&o.maxFrameSize, "max-frame-size", 64<<10, g, "largest inbound WebSocket message; larger ones close the connection with 1009")
	s.size(&o.maxOutboundBytes, "max-outbound-bytes", 1<<20, g, "bytes queued for one slow connection before it is closed with 4001")
	s.float(&o.rateLimit, "rate-limit", "N", 20, g, "frames per second one device may send, sustained")
	s.intv(&o.rateBurst, "rate-burst", "N", 40, g, "frames one device may send in a burst")
	s.intv(&o.resumeLimit, "resume-limit", "N", 1000, g, "messages one resume replays at most (the client asks again for more)")
	s.dur(&o.requestTimeout, "request-timeout", 15*time.Second, g, "longest storage work for one client request")

	g = groupStorage
	s.str(&o.dataDir, "data-dir", "DIR", "./natter-data", g, "directory for JetStream storage (embedded NATS), the generated secret and node id")
	s.dur(&o.messageMaxAge, "message-max-age", 0, g, "delete messages older than this").defaultText("0: keep forever")
	s.int64v(&o.maxMsgsPerChat, "max-msgs-per-chat", 0, g, "keep at most this many messages per chat, dropping the oldest").defaultText("0: unlimited")
	s.dur(&o.dedupWindow, "dedup-window", store.DefaultDuplicates, g, "a send repeated with the same clientMsgId within this window is stored once (clipped to --message-max-age)")
	s.str(&o.sync, "sync", "WHEN", string(node.SyncInterval), g, "when the embedded NATS server fsyncs JetStream's writes: always (each write, before its ack) or interval (nats-server's default, every 2m); always needs the embedded server")

	g = groupOps
	s.str(&o.configFile, "config", "FILE", "", g, "read settings from a YAML (.yaml, .yml) or TOML (.toml) file whose keys are these flag names").defaultText("none")
	s.str(&o.logFormat, "log-format", "F", "text", g, "log format: text or json")
	s.str(&o.logLevel, "log-level", "L", "info", g, "log level: debug, info, warn or error")
	s.dur(&o.drainTimeout, "drain-timeout", 30*time.Second, g, "how long a SIGINT/SIGTERM drain may take before the node exits anyway")
	s.dur(&o.drainDelay, "drain-delay", 0, g, "on SIGTERM, keep serving (not ready) this long so load balancers take the node out before devices are closed").defaultText("0")
	s.intv(&o.drainBatch, "drain-batch", "N", 500, g, "devices closed (1001) per step of a drain, so their reconnects spread out")
	s.dur(&o.drainEvery, "drain-interval", 50*time.Millisecond, g, "pause between two drain steps")
	s.str(&o.adminListen, "admin-listen", "ADDR", "", g, "serve /metrics, /api/stats, /debug/pprof/ and the health checks on this internal address (host:port) instead of --listen").defaultText("none: /metrics and /api/stats stay on --listen")
	s.boolv(&o.debugPprof, "debug-pprof", false, g, "serve Go's profiler at /debug/pprof/ on --listen when there is no --admin-listen (keep it behind the load balancer)")
	s.dur(&o.stormNotice, "storm-notice-delay", time.Second, g, "--notice-delay while a connection storm is on (100 or more handshakes and closes a second): fewer, fuller writes while rooms fill (a chat's events also wait up to half of it to be queued together); 0: --notice-delay throughout")
	s.intv(&o.stormGC, "storm-gc-percent", "N", 50, g, "Go GC target (as GOGC) while a connection storm is on, when lower than the one in effect; -1 leaves the collector alone")
	return s
}

// parseFlags reads the node's settings: flags, then NATTER_<NAME>
// environment variables, then the config file, then defaults.
func parseFlags(args []string) (*options, error) {
	return loadOptions(args, os.LookupEnv, os.Stdout)
}

// loadOptions is parseFlags with the environment and the --help output
// passed in. --help prints the usage to helpOut and returns flag.ErrHelp.
func loadOptions(args []string, env func(string) (string, bool), helpOut io.Writer) (*options, error) {
	o := &options{}
	s := defineSettings(o)
	if err := s.load(args, env, helpOut, nodeUsageHeader); err != nil {
		return nil, err
	}
	return o, o.validate()
}

const nodeUsageHeader = `Usage: natter [flags]           run a chat node
       natter --version         print the build's version and exit
       natter chat [flags]      a terminal chat client (see natter chat -h)
       natter cluster [flags]   local nodes in one cluster (natter cluster -h)

Settings come from flags, from NATTER_<NAME> environment variables (upper
case, dashes as underscores: NATTER_LISTEN=:9000) and from a config file
(--config FILE or NATTER_CONFIG; YAML or TOML, keys are the flag names).
A flag wins over the environment, the environment over the file, the file
over the default. Durations are like 500ms, 30s, 5m, 24h; sizes are bytes
or like 64KiB, 1MiB. docs/configuration.md describes every setting.
`

func (o *options) validate() error {
	var lv slog.Level
	positive := []struct {
		name string
		ok   bool
	}{
		{"workers", o.workers >= 0}, // 0: auto
		{"ping-interval", o.pingInterval > 0},
		{"idle-timeout", o.idleTimeout > 0},
		{"notice-delay", o.noticeDelay > 0},
		{"handshake-timeout", o.handshakeTimeout > 0},
		{"max-handshakes", o.maxHandshakes > 0},
		{"header-timeout", o.headerTimeout > 0},
		{"max-pending-per-source", o.maxPendingSource > 0 || o.maxPendingSource == -1},
		{"max-pending", o.maxPending > 0},
		{"heartbeat-interval", o.heartbeatInterval > 0},
		{"node-dead-after", o.nodeDeadAfter >= 0},  // 0: 5 × heartbeat-interval
		{"presence-grace", o.presenceGrace >= 0},   // 0: none
		{"storm-notice-delay", o.stormNotice >= 0}, // 0: none
		{"start-timeout", o.startTimeout > 0},
		{"token-ttl", o.tokenTTL > 0},
		{"max-login-failures-per-account", o.loginFailAcct > 0 || o.loginFailAcct == -1},
		{"max-login-failures-per-source", o.loginFailSrc > 0 || o.loginFailSrc == -1},
		{"max-registrations-per-source", o.registerSrc > 0 || o.registerSrc == -1},
		{"auth-limit-window", o.authWindow > 0},
		{"max-connections", o.maxConnections > 0},
		{"max-devices-per-user", o.maxDevicesPerUser > 0},
		{"max-rooms-per-user", o.maxRoomsPerUser > 0},
		{"receipts-max-members", o.receiptsMax >= 0},
		{"max-message-len", o.maxMessageLen > 0},
		{"max-frame-size", o.maxFrameSize > 0},
		{"max-outbound-bytes", o.maxOutboundBytes > 0},
		{"rate-limit", o.rateLimit > 0},
		{"rate-burst", o.rateBurst > 0},
		{"resume-limit", o.resumeLimit > 0},
		{"request-timeout", o.requestTimeout > 0},
		{"message-max-age", o.messageMaxAge >= 0}, // 0: forever
		{"max-msgs-per-chat", o.maxMsgsPerChat >= 0},
		{"dedup-window", o.dedupWindow > 0},
		{"drain-timeout", o.drainTimeout > 0},
		{"drain-batch", o.drainBatch > 0},
		{"drain-interval", o.drainEvery > 0},
	}
	for _, p := range positive {
		if !p.ok {
			switch p.name {
			case "workers", "node-dead-after", "presence-grace", "storm-notice-delay", "receipts-max-members", "message-max-age", "max-msgs-per-chat":
				return fmt.Errorf("--%s must not be negative", p.name)
			case "max-pending-per-source", "max-login-failures-per-account", "max-login-failures-per-source", "max-registrations-per-source":
				return fmt.Errorf("--%s must be positive, or -1 for no cap", p.name)
			}
			return fmt.Errorf("--%s must be positive", p.name)
		}
	}
	switch {
	case o.listen == "":
		return errors.New("--listen must not be empty")
	case o.dataDir == "":
		return errors.New("--data-dir must not be empty")
	case o.logFormat != "text" && o.logFormat != "json":
		return fmt.Errorf("--log-format must be text or json, not %q", o.logFormat)
	case lv.UnmarshalText([]byte(o.logLevel)) != nil:
		return fmt.Errorf("--log-level must be debug, info, warn or error, not %q", o.logLevel)
	case o.passwordCost < 4 || o.passwordCost > 31:
		return fmt.Errorf("--password-cost must be a bcrypt cost, 4 to 31, not %d", o.passwordCost)
	case o.secret != "" && len(o.secret) < 16:
		return errors.New("--secret must be at least 16 characters")
	case o.routes != "" && o.clusterListen == "":
		return errors.New("--routes needs --cluster-listen")
	case o.natsURL != "" && (o.clusterListen != "" || o.natsListen != "" || o.natsMonitor != "" || o.leafListen != "" || o.leafRemotes != ""):
		return errors.New("--nats-url uses an external NATS; --cluster-listen, --nats-listen, --nats-monitor and the --leafnode options configure the embedded one")
	case (o.leafListen != "" || o.leafRemotes != "") && o.jsDomain == "":
		return errors.New("--leafnode-listen and --leafnode-remote need --jetstream-domain: the hub's JetStream domain, the same on the hub's and the site's nodes")
	case o.adminListen != "" && o.adminListen == o.listen:
		return errors.New("--admin-listen must differ from --listen")
	case o.sync != string(node.SyncAlways) && o.sync != string(node.SyncInterval):
		return fmt.Errorf("--sync must be always or interval, not %q", o.sync)
	case o.natsURL != "" && o.sync == string(node.SyncAlways):
		// The external server's own setting decides; accepting the flag
		// would promise fsyncs that do not happen.
		return errors.New("--sync always configures the embedded NATS server; with --nats-url set sync_interval: always in the external server's jetstream block instead")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case o.tlsReload <= 0:
		return errors.New("--tls-reload-interval must be positive")
	case (o.clusterTLSCert == "") != (o.clusterTLSKey == "") || (o.clusterTLSCert == "") != (o.clusterTLSCA == ""):
		return errors.New("--cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca go together")
	case (o.clusterUser == "") != (o.clusterPassword == ""):
		return errors.New("--cluster-user and --cluster-password go together")
	case (o.clusterTLSCert != "" || o.clusterUser != "") && o.clusterListen == "":
		return errors.New("--cluster-tls-* and --cluster-user secure the embedded NATS server's routes: they need --cluster-listen")
	case (o.natsTLSCert == "") != (o.natsTLSKey == ""):
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	case (o.natsCreds != "" || o.natsNKey != "" || o.natsTLSCert != "" || o.natsTLSCA != "") && o.natsURL == "":
		return errors.New("--nats-creds, --nats-nkey and --nats-tls-* are for an external NATS: they need --nats-url")
	case o.natsCreds != "" && o.natsNKey != "":
		return errors.New("--nats-creds and --nats-nkey are two ways to authenticate; give one")
	case o.replicas < 0 || o.replicas > 5:
		return errors.New("--replicas must be between 0 (auto) and 5")
	case o.streams < 1 || o.streams > store.MaxStreams:
		return fmt.Errorf("--streams must be between 1 and %d", store.MaxStreams)
	case o.idleTimeout <= o.pingInterval:
		return fmt.Errorf("--idle-timeout must be longer than --ping-interval (%v <= %v)", o.idleTimeout, o.pingInterval)
	case o.nodeDeadAfter != 0 && o.nodeDeadAfter <= o.heartbeatInterval:
		return fmt.Errorf("--node-dead-after must be longer than --heartbeat-interval (%v <= %v)", o.nodeDeadAfter, o.heartbeatInterval)
	case o.maxFrameSize > maxInt:
		return fmt.Errorf("--max-frame-size must be at most %d", maxInt)
	case o.maxOutboundBytes > maxInt:
		return fmt.Errorf("--max-outbound-bytes must be at most %d", maxInt)
	case o.workers > 1<<16:
		return errors.New("--workers must be at most 65536")
	case o.stormGC == 0 || o.stormGC < -1:
		return fmt.Errorf("--storm-gc-percent must be positive, or -1 to leave the collector alone, not %d", o.stormGC)
	}
	return nil
}

const maxInt = int64(^uint(0) >> 1)

func (o *options) nodeConfig(log *slog.Logger) node.Config {
	cfg := node.Config{
		NodeID:                     o.nodeID,
		DataDir:                    o.dataDir,
		NATSURL:                    o.natsURL,
		Secret:                     o.secret,
		APIKey:                     o.apiKey,
		AllowGuests:                o.allowGuests,
		ClusterListen:              o.clusterListen,
		ClusterName:                o.clusterName,
		NATSListen:                 o.natsListen,
		LeafNodeListen:             o.leafListen,
		JetStreamDomain:            o.jsDomain,
		NATSMonitor:                o.natsMonitor,
		AdminListen:                o.adminListen,
		Sync:                       node.SyncMode(o.sync),
		Replicas:                   o.replicas,
		Streams:                    o.streams,
		StartTimeout:               o.startTimeout,
		HeartbeatInterval:          o.heartbeatInterval,
		PresenceGrace:              zeroIsNone(o.presenceGrace),
		NodeDeadAfter:              o.nodeDeadAfter,
		MaxMessageLen:              o.maxMessageLen,
		MaxRoomsPerUser:            o.maxRoomsPerUser,
		ReceiptsMaxMembers:         receiptsMax(o.receiptsMax),
		MaxDevicesPerUser:          o.maxDevicesPerUser,
		MaxConnections:             o.maxConnections,
		MaxHandshakes:              o.maxHandshakes,
		HandshakeTimeout:           o.handshakeTimeout,
		HeaderTimeout:              o.headerTimeout,
		MaxPendingPerSource:        o.maxPendingSource,
		MaxPending:                 o.maxPending,
		RateLimit:                  o.rateLimit,
		RateBurst:                  o.rateBurst,
		TokenTTL:                   o.tokenTTL,
		PasswordCost:               o.passwordCost,
		MaxLoginFailuresPerAccount: o.loginFailAcct,
		MaxLoginFailuresPerSource:  o.loginFailSrc,
		MaxRegistrationsPerSource:  o.registerSrc,
		AuthLimitWindow:            o.authWindow,
		ResumeLimit:                o.resumeLimit,
		RequestTimeout:             o.requestTimeout,
		DrainDelay:                 o.drainDelay,
		DrainBatch:                 o.drainBatch,
		DrainInterval:              o.drainEvery,
		Pprof:                      o.debugPprof,
		StormGCPercent:             o.stormGC,
		StormNoticeDelay:           zeroIsNone(o.stormNotice),
		TLSCertFile:                o.tlsCert,
		TLSKeyFile:                 o.tlsKey,
		TLSReloadInterval:          o.tlsReload,
		ClusterTLSCertFile:         o.clusterTLSCert,
		ClusterTLSKeyFile:          o.clusterTLSKey,
		ClusterTLSCAFile:           o.clusterTLSCA,
		ClusterUser:                o.clusterUser,
		ClusterPassword:            o.clusterPassword,
		NATSCredsFile:              o.natsCreds,
		NATSNKeyFile:               o.natsNKey,
		NATSTLSCertFile:            o.natsTLSCert,
		NATSTLSKeyFile:             o.natsTLSKey,
		NATSTLSCAFile:              o.natsTLSCA,
		Logger:                     log,
	}
	cfg.Conn.Workers = o.workers
	cfg.Conn.MaxMessageSize = int(o.maxFrameSize)
	cfg.Conn.MaxOutboundBytes = int(o.maxOutboundBytes)
	cfg.Conn.PingInterval = o.pingInterval
	cfg.Conn.IdleTimeout = o.idleTimeout
	cfg.Conn.DeferDelay = o.noticeDelay
	cfg.Store.MaxAge = o.messageMaxAge
	cfg.Store.MaxMsgsPerSubject = o.maxMsgsPerChat
	cfg.Store.Duplicates = o.dedupWindow
	cfg.Routes = splitList(o.routes)
	cfg.LeafNodeRemotes = splitList(o.leafRemotes)
	cfg.AllowedOrigins = splitList(o.allowedOrigins)
	return cfg
}

// splitList splits a comma-separated setting, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// receiptsMax maps --receipts-max-members to node.Config's
// ReceiptsMaxMembers, where 0 is the default and negative "direct chats
// only".
func receiptsMax(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// zeroIsNone maps a duration flag whose 0 means "none" (--presence-grace,
// --storm-notice-delay) to node.Config, where 0 means the default and a
// negative value none.
func zeroIsNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
