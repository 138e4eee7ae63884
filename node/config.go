package node

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/natterchat/natter/node/authlimit"
	"github.com/natterchat/natter/node/natslink"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// DefaultPresenceGrace is Config.PresenceGrace's default: longer than a
// client's reconnect after a drop or a drain, also when a storm of them
// waits seconds to be admitted (15,000 users resuming 5 chats each took
// up to 6 s on one core), short enough that a user who left is soon
// offline.
const DefaultPresenceGrace = 5 * time.Second

// Config configures a Node. Every zero value means the default documented
// on its field; New applies them. Flags and environment variables live in
// cmd/natter, not here.
type Config struct {
	// NodeID names this node in the cluster (a subject token). Default:
	// read from DataDir/node-id, generated there on first start.
	NodeID string
	// DataDir holds JetStream's storage (embedded server), the generated
	// secret and node id. Default "./natter-data".
	DataDir string
	// NATSURL connects to an external NATS (with JetStream) instead of
	// starting an embedded server. Comma-separated URLs are allowed.
	NATSURL string
	// ClusterListen is the embedded server's route address (host:port):
	// with Routes, the nodes' embedded servers form one NATS cluster with
	// JetStream. Empty: no clustering.
	ClusterListen string
	// Routes are the other embedded servers' route URLs
	// (nats://host:6222). A node may list itself; it is ignored.
	Routes []string
	// ClusterName names the embedded NATS cluster. Default "natter".
	ClusterName string
	// NATSListen exposes the embedded server's client port (host:port) for
	// the nats CLI or nodes that use NATSURL. Empty: no client port.
	NATSListen string
	// LeafNodeListen accepts leaf node connections (host:port) from the
	// embedded servers of a site's nodes: this node is part of the hub.
	// Empty: none.
	LeafNodeListen string
	// LeafNodeRemotes makes the embedded server a leaf of a hub
	// (nats-leaf://hub:7422, several URLs of one hub allowed): this node
	// is a site node and uses the hub's JetStream, with none of its own.
	LeafNodeRemotes []string
	// JetStreamDomain names the JetStream domain of a hub: on a hub node
	// the embedded server's domain (the same on every hub node), on a
	// site node the hub's domain, whose JetStream it uses. Needed with
	// LeafNodeListen and LeafNodeRemotes; with NATSURL it names the
	// external server's domain, if it has one. Empty: no domain.
	JetStreamDomain string
	// Replicas of the stream and buckets. Default: 3 when the embedded
	// cluster has at least 3 servers (Routes lists 2 or more others),
	// otherwise 1. With NATSURL set it to 3 for a JetStream cluster.
	Replicas int
	// Streams is how many message streams chats are spread over, by a
	// hash of the chat id (store.Partition), so that with 3 or more nodes
	// the sends are not all ordered by one stream leader. It is fixed
	// when the cluster is created: a node started with another number
	// refuses to start (docs/cluster.md says how to change it).
	// Default 1: the one stream CHAT_MSGS.
	Streams int
	// StartTimeout bounds waiting for JetStream at start (a cluster needs
	// its meta leader and enough peers for the replicas). Default 2m.
	StartTimeout time.Duration
	// HeartbeatInterval is how often the node tells the cluster it is
	// alive; NodeDeadAfter is how long the others wait without one before
	// they count it dead and its devices offline. Defaults 1s and 5s.
	HeartbeatInterval time.Duration
	NodeDeadAfter     time.Duration
	// PresenceGrace is how long a registered user's closed device still
	// counts as online: a client that reconnects within it (to any node)
	// is never seen offline, and its chats' members get no Offline and
	// Online pair. Default 5s; negative: offline at once.
	PresenceGrace time.Duration

	// Sync is when the embedded NATS server fsyncs what JetStream stores.
	// SyncInterval (the default) keeps nats-server's background sync,
	// every 2 minutes: every write reaches the operating system at once,
	// so a crash of the process loses nothing, but a crash of the machine
	// or a power loss can lose what was acknowledged since the last sync.
	// SyncAlways fsyncs every write before JetStream acknowledges it, at
	// a cost in latency and throughput (docs/benchmarks.md, "Durability:
	// --sync always"). It configures the embedded server only: with
	// NATSURL, SyncAlways is refused, because the external server's own
	// setting (sync_interval in its jetstream block) decides.
	Sync SyncMode

	// TLSCertFile and TLSKeyFile (PEM) make the node serve TLS itself on
	// the listeners given to Serve: the page, the API and wss. Both or
	// neither. The files are read again every TLSReloadInterval and on
	// ReloadTLS; a changed pair that loads serves every new handshake,
	// one that does not keeps the current certificate and logs an error.
	// Empty: plain HTTP and ws (TLS ends at a proxy, if anywhere).
	TLSCertFile string
	TLSKeyFile  string
	// TLSReloadInterval is how often the certificate files are checked
	// for a change. Default 5s.
	TLSReloadInterval time.Duration

	// ClusterTLSCertFile, ClusterTLSKeyFile and ClusterTLSCAFile (PEM)
	// put the embedded server's routes under mutual TLS: each server
	// presents the certificate and accepts only peers whose certificate
	// the CA signed; the certificate must name the hosts the routes
	// dial. All three or none; they need ClusterListen.
	ClusterTLSCertFile string
	ClusterTLSKeyFile  string
	ClusterTLSCAFile   string
	// ClusterUser and ClusterPassword are the credentials every route
	// must present (and this server presents on the routes it dials).
	// Both or neither; they need ClusterListen.
	ClusterUser     string
	ClusterPassword string

	// NATSCredsFile is a NATS credentials file (user JWT and NKey seed)
	// for NATSURL.
	NATSCredsFile string
	// NATSNKeyFile is a file holding an NKey user seed (SU...) for
	// NATSURL. Not together with NATSCredsFile.
	NATSNKeyFile string
	// NATSTLSCertFile and NATSTLSKeyFile are the client certificate
	// presented to NATSURL (both or neither); NATSTLSCAFile is the CA the
	// server's certificate is checked against (default: the system's).
	NATSTLSCertFile string
	NATSTLSKeyFile  string
	NATSTLSCAFile   string

	// Secret signs tokens (HS256). Default: generated into DataDir/secret.
	// Every node of a cluster needs the same secret.
	Secret string
	// APIKey enables the server API (broadcast) for requests carrying
	// "Authorization: Bearer APIKey". Empty: the server API is off.
	APIKey string
	// AllowGuests gives connections without a token a fresh guest
	// identity that ends with the connection.
	AllowGuests bool
	// AllowedOrigins lists browser origins (scheme://host[:port]) allowed
	// to open WebSockets besides the node's own host. "*" allows any.
	AllowedOrigins []string

	// MaxMessageLen is the longest message text in characters. Default 4000.
	MaxMessageLen int
	// MaxRoomsPerUser caps a user's memberships. Default 1000.
	MaxRoomsPerUser int
	// ReceiptsMaxMembers is the largest group whose members all get each
	// other's read markers (direct chats always do). Default 50;
	// negative: direct chats only.
	ReceiptsMaxMembers int
	// MaxDevicesPerUser caps a user's connections on this node. Default 64.
	MaxDevicesPerUser int
	// MaxConnections caps this node's WebSocket connections; past it the
	// handshake is refused with 503. Default 1,000,000 (in practice the
	// open-files limit is lower).
	MaxConnections int
	// MaxHandshakes caps the WebSocket handshakes in progress, each with
	// its device's setup (Welcome, chats, catch-up, the resumes and room
	// it asked for); further connections wait for a slot, their request
	// head read. Default 32: enough to overlap setups' store round trips,
	// few enough that in a storm live deliveries wait behind a few setups
	// rather than every pending one (docs/benchmarks.md, "Reconnect
	// storm").
	MaxHandshakes int
	// HandshakeTimeout bounds a handshake from its request head to the
	// upgrade, waiting for a MaxHandshakes slot included. Default 5s.
	HandshakeTimeout time.Duration
	// HeaderTimeout is how long a client has from its connect to the end
	// of its request head (WebSocket or HTTP). Default 2s.
	HeaderTimeout time.Duration
	// MaxPendingPerSource caps the connections of one source address
	// whose request head is still being read; more are closed at once.
	// Behind a load balancer every client has its address: raise it, or
	// -1 for no cap. Default 64.
	MaxPendingPerSource int
	// MaxPending caps the connections whose request head is still being
	// read, in all; more are closed at once, so that none waits behind
	// stalled ones. Default 4096.
	MaxPending int
	// RateLimit is the frames per second one device may send (sustained);
	// RateBurst the burst. Defaults 20 and 40.
	RateLimit float64
	RateBurst int
	// MaxLoginFailuresPerAccount caps the failed logins naming one
	// account, MaxLoginFailuresPerSource those from one source address,
	// and MaxRegistrationsPerSource the registrations from one source
	// address, counted cluster-wide: past the cap an attempt is refused
	// (429) until AuthLimitWindow has passed since the last counted one.
	// -1 turns a cap off. Defaults 10, 100 and 20.
	MaxLoginFailuresPerAccount int
	MaxLoginFailuresPerSource  int
	MaxRegistrationsPerSource  int
	// AuthLimitWindow is how long those counts last after the last
	// counted event; the same on every node. Default 10m.
	AuthLimitWindow time.Duration
	// TokenTTL is how long issued tokens are valid. Default 24h.
	TokenTTL time.Duration
	// PasswordCost is the bcrypt cost new password hashes are made at,
	// 4 to 31 (each step doubles a registration's and a login's CPU).
	// Default 10. Lower only for load tests.
	PasswordCost int
	// ResumeLimit caps the messages one Resume replays. Default 1000.
	ResumeLimit int
	// RequestTimeout bounds one client request's storage work (sends are
	// retried with the same id within it). Default 15s.
	RequestTimeout time.Duration

	// DrainDelay is how long Shutdown keeps serving while reporting not
	// ready, so load balancers stop sending new connections first.
	// Default 0.
	DrainDelay time.Duration
	// DrainBatch devices are closed (1001) every DrainInterval during a
	// drain, so their reconnects spread over the other nodes instead of
	// arriving at once. Defaults 500 and 50ms; whatever is left when the
	// drain deadline nears is closed at once.
	DrainBatch    int
	DrainInterval time.Duration

	// AdminListen is an address (host:port) where New opens the admin
	// port: /metrics, /api/stats, the profiler at /debug/pprof/ and the
	// health checks. When set, the public port (Serve) no longer serves
	// /metrics, /api/stats or the profiler. Empty: no admin port, and
	// the public port serves /metrics and /api/stats as before.
	AdminListen string
	// NATSMonitor is an address (host:port) for the embedded NATS
	// server's HTTP monitoring endpoint (/varz, /jsz, /connz, ...), for
	// the NATS tooling (nats-top, prometheus-nats-exporter, the Surveyor).
	// Port 0 picks a free port (NATSMonitorAddr). Embedded server only:
	// refused with NATSURL. Empty: no monitoring endpoint.
	NATSMonitor string
	// Pprof serves Go's profiler at /debug/pprof/ on the public port
	// when AdminListen is empty; the admin port always serves it.
	Pprof bool
	// StormGCPercent is the Go collector's target (as GOGC) while a
	// connection storm is on, when lower than the target in effect; -1
	// leaves the collector alone. Default 50 (see node/internal/gcstorm).
	StormGCPercent int
	// StormNoticeDelay is how long notices about others may wait to leave
	// with a device's other frames (Conn.DeferDelay) while a connection
	// storm is on: every flush is a write per connection with a notice,
	// and while rooms fill nearly every member has one in every flush.
	// A chat's events also wait up to half of it on the chat's fan-out
	// loop, to be queued to each member once for all of them
	// (fanout.Hub.SetNoticeBatch). Default 1s; negative: Conn.DeferDelay
	// throughout and no batching.
	StormNoticeDelay time.Duration

	// Conn configures the connection layer (workers, frame and queue
	// limits, ping and idle timeouts); see wsconn.Config for defaults.
	Conn wsconn.Config
	// Store configures streams and buckets; see store.Config.
	Store store.Config

	// Metrics is the Prometheus registry the node registers its
	// collectors (and the Go runtime and process collectors) in and
	// serves at /metrics. Default: a new registry per node.
	Metrics *prometheus.Registry

	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
}

// SyncMode is a value of Config.Sync.
type SyncMode string

// The values of Config.Sync.
const (
	// SyncInterval leaves fsyncs to nats-server's background sync
	// (every 2 minutes, its default sync_interval).
	SyncInterval SyncMode = "interval"
	// SyncAlways fsyncs every JetStream write before it is acknowledged
	// (nats-server's sync_interval: always).
	SyncAlways SyncMode = "always"
)

// validate refuses settings that cannot work together, before New starts
// anything.
func (c *Config) validate() error {
	link := c.natsLink("")
	if err := link.Validate(); err != nil {
		return err
	}
	if c.Sync != SyncInterval && c.Sync != SyncAlways {
		return fmt.Errorf("node: Sync must be %q or %q, not %q", SyncAlways, SyncInterval, c.Sync)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("node: TLSCertFile and TLSKeyFile go together; set both or neither")
	}
	return nil
}

// natsLink maps the NATS settings to natslink's options; serverName
// names the embedded server.
func (c *Config) natsLink(serverName string) natslink.Options {
	return natslink.Options{
		ServerName:         serverName,
		StoreDir:           filepath.Join(c.DataDir, "jetstream"),
		SyncAlways:         c.Sync == SyncAlways,
		NATSURL:            c.NATSURL,
		NATSListen:         c.NATSListen,
		NATSMonitor:        c.NATSMonitor,
		ClusterListen:      c.ClusterListen,
		ClusterName:        c.ClusterName,
		Routes:             c.Routes,
		LeafNodeListen:     c.LeafNodeListen,
		LeafNodeRemotes:    c.LeafNodeRemotes,
		JetStreamDomain:    c.JetStreamDomain,
		ClusterTLSCertFile: c.ClusterTLSCertFile,
		ClusterTLSKeyFile:  c.ClusterTLSKeyFile,
		ClusterTLSCAFile:   c.ClusterTLSCAFile,
		ClusterUser:        c.ClusterUser,
		ClusterPassword:    c.ClusterPassword,
		NATSCredsFile:      c.NATSCredsFile,
		NATSNKeyFile:       c.NATSNKeyFile,
		NATSTLSCertFile:    c.NATSTLSCertFile,
		NATSTLSKeyFile:     c.NATSTLSKeyFile,
		NATSTLSCAFile:      c.NATSTLSCAFile,
	}
}

// setDefaults applies the defaults of the settings the node uses itself;
// those it passes to its parts (the limits of messages, rooms, devices,
// frames and replays, and the request timeout) are defaulted by the part
// that uses them.
func (c *Config) setDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./natter-data"
	}
	if c.Sync == "" {
		c.Sync = SyncInterval
	}
	if c.ClusterName == "" {
		c.ClusterName = "natter"
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 2 * time.Minute
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.NodeDeadAfter <= 0 {
		c.NodeDeadAfter = 5 * c.HeartbeatInterval
	}
	if c.PresenceGrace == 0 {
		c.PresenceGrace = DefaultPresenceGrace
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
		// A site node's JetStream is the hub's, whose nodes decide its
		// replicas (a stream keeps its higher count).
		if c.NATSURL == "" && len(c.LeafNodeRemotes) == 0 && c.ClusterListen != "" && len(otherRoutes(c.Routes, c.ClusterListen)) >= 2 {
			c.Replicas = 3
		}
	}
	if c.Store.Domain == "" {
		c.Store.Domain = c.JetStreamDomain
	}
	if c.Store.Replicas <= 0 {
		c.Store.Replicas = c.Replicas
	}
	if c.Streams <= 0 {
		c.Streams = 1
	}
	if c.Store.Streams <= 0 {
		c.Store.Streams = c.Streams
	}
	if c.AuthLimitWindow <= 0 {
		c.AuthLimitWindow = authlimit.DefaultWindow
	}
	// The counters' stream keeps each one for the window.
	c.Store.CounterWindow = c.AuthLimitWindow
	if c.DrainBatch <= 0 {
		c.DrainBatch = 500
	}
	if c.DrainInterval <= 0 {
		c.DrainInterval = 50 * time.Millisecond
	}
	if c.TLSReloadInterval <= 0 {
		c.TLSReloadInterval = 5 * time.Second
	}
	if c.StormGCPercent == 0 {
		c.StormGCPercent = 50
	}
	if c.StormNoticeDelay == 0 {
		c.StormNoticeDelay = time.Second
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 1_000_000
	}
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = 32
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 5 * time.Second
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = 2 * time.Second
	}
	if c.MaxPendingPerSource == 0 {
		c.MaxPendingPerSource = 64
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 4096
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.Conn.Logger == nil {
		c.Conn.Logger = c.Logger
	}
	if c.Store.Logger == nil {
		c.Store.Logger = c.Logger
	}
}

// otherRoutes are the routes that do not point at this node's own route
// listener (a shared route list names every node, this one included).
func otherRoutes(routes []string, self string) []string {
	var out []string
	for _, r := range routes {
		host := strings.TrimPrefix(strings.TrimSpace(r), "nats://")
		if host != self {
			out = append(out, r)
		}
	}
	return out
}
