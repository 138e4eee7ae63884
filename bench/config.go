package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Scenario names.
const (
	ScenarioConnect   = "connect"
	ScenarioIdle      = "idle"
	ScenarioRooms     = "rooms"
	ScenarioDirect    = "direct"
	ScenarioBroadcast = "broadcast"
	ScenarioHistory   = "history"
	ScenarioReconnect = "reconnect"
)

// Room affinities (Config.RoomAffinity).
const (
	// AffinityNone spreads every room's members over the nodes.
	AffinityNone = "none"
	// AffinityNode puts every room's members on one node.
	AffinityNode = "node"
)

// Scenarios lists every scenario, in the order of the usage text.
var Scenarios = []string{ScenarioConnect, ScenarioIdle, ScenarioRooms, ScenarioDirect, ScenarioBroadcast, ScenarioHistory, ScenarioReconnect}

// ErrConfig prefixes every configuration error.
var ErrConfig = errors.New("bench: config")

// Config is one run. Zero values mean the defaults documented on each
// field; every load is bounded by Conns, Rate and Duration.
type Config struct {
	// Scenario is one of Scenarios.
	Scenario string `json:"scenario"`
	// URLs are the nodes' WebSocket URLs (ws://127.0.0.1:8080/ws);
	// connections are spread over them round-robin, or by room
	// (RoomAffinity).
	URLs []string `json:"urls"`
	// APIKey is the node's server API key; optional, shown in reports
	// only as set/unset.
	APIKey string `json:"apiKey,omitempty"`
	// Guests connects without accounts (the node runs with
	// --allow-guests) and joins rooms with ?room=. Otherwise the run
	// registers users and creates chats through the HTTP API first.
	Guests bool `json:"guests"`
	// Conns is the number of connections (users, one device each).
	// Default 100.
	Conns int `json:"conns"`
	// RoomSize is the members per room in rooms, history and idle.
	// Default 10. direct uses 2, broadcast one room of every connection.
	// Negative (idle only): the connections join no room.
	RoomSize int `json:"roomSize"`
	// RoomAffinity is how a room's members are spread over URLs:
	// AffinityNone (the default) puts connection i on URL i mod
	// len(URLs) and rooms are a shuffle of all connections, so a room of
	// 10 has members on most nodes; AffinityNode puts every member of
	// room r on URL r mod len(URLs), as a deployment that routes users
	// by their chats would (quiet chats still span nodes).
	RoomAffinity string `json:"roomAffinity,omitempty"`
	// QuietChats is how many more chats each connection is a member of
	// besides its room: rooms of RoomSize that nobody sends to (accounts
	// only). A registered user's connect loads, counts and presents every
	// chat it is in, and reconnect resumes them all. Default 0.
	QuietChats int `json:"quietChats,omitempty"`
	// Senders is how many connections send. Default: one per room
	// (rooms, direct, history), 10 for broadcast.
	Senders int `json:"senders"`
	// Rate is messages per second per sender. Default 5 (the node's
	// default limit is 20 frames/s per device). For connect and idle it
	// is the connect rate (connections per second), default 1000.
	Rate float64 `json:"rate"`
	// ConnectRate bounds connects per second for the message scenarios.
	// Default 1000.
	ConnectRate float64 `json:"connectRate"`
	// Duration is how long senders send (or idle holds). Default 10s.
	Duration time.Duration `json:"duration"`
	// Grace is how long to wait for messages in flight after sending
	// stops before counting. Default 5s.
	Grace time.Duration `json:"grace"`
	// Settle is the pause between the last join and the first send, for
	// the nodes' subscriptions to propagate. Default 1s.
	Settle time.Duration `json:"settle"`
	// Seed makes the room layout and send phases reproducible. Default 1.
	Seed int64 `json:"seed"`
	// Workers is the number of worker processes. 0: one per 9,000
	// connections; 1 runs in this process.
	Workers int `json:"workers"`
	// StatsURLs are where each node of URLs (in order) serves
	// /api/stats, as http://host:port, when the node serves it on an
	// admin port (--admin-listen). Default: the node's own URL.
	StatsURLs []string `json:"statsURLs,omitempty"`
	// SourceIPs are local addresses the client sockets bind to, in turn
	// (127.0.0.2-127.0.0.9), so loopback ephemeral ports last longer.
	SourceIPs []string `json:"sourceIPs,omitempty"`
	// HistoryClients is how many connections page through history in the
	// history scenario. Default: a tenth of the connections, at least 1.
	HistoryClients int `json:"historyClients"`
	// PID is the node's process id for the idle scenario's memory and CPU
	// readings (single node). 0: found by the URL's port via /proc.
	PID int `json:"pid"`
	// RunID names the run's rooms and users. Default derived from the
	// time and the seed.
	RunID string `json:"runId"`
	// P99Max, when positive, fails a run whose publish->deliver p99 is
	// longer: a run that loses nothing but answers late has failed too.
	// Default 0: latency is reported, not judged.
	P99Max time.Duration `json:"p99Max,omitempty"`
	// Progress gets a progress line about once a second; nil: none.
	Progress func(string) `json:"-"`
}

// MaxConnsPerWorker keeps each worker well below the 20,000 open files
// of a process.
const MaxConnsPerWorker = 9000

func (c *Config) setDefaults() {
	if c.Conns <= 0 {
		c.Conns = 100
	}
	switch c.Scenario {
	case ScenarioDirect:
		c.RoomSize = 2
	case ScenarioBroadcast:
		c.RoomSize = c.Conns
	default:
		if c.RoomSize == 0 || (c.RoomSize < 0 && c.Scenario != ScenarioIdle) {
			c.RoomSize = 10
		}
	}
	c.RoomSize = min(c.RoomSize, c.Conns)
	if c.RoomAffinity == "" {
		c.RoomAffinity = AffinityNone
	}
	if c.Senders <= 0 {
		c.Senders = c.rooms()
		if c.Scenario == ScenarioBroadcast {
			c.Senders = 10
		}
	}
	c.Senders = min(c.Senders, c.Conns)
	if c.Rate <= 0 {
		c.Rate = 5
		if c.Scenario == ScenarioConnect || c.Scenario == ScenarioIdle {
			c.Rate = 1000
		}
	}
	if c.ConnectRate <= 0 {
		c.ConnectRate = 1000
	}
	if c.Scenario == ScenarioConnect || c.Scenario == ScenarioIdle {
		c.ConnectRate = c.Rate
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Second
	}
	if c.Settle <= 0 {
		c.Settle = time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Workers <= 0 {
		c.Workers = (c.Conns + MaxConnsPerWorker - 1) / MaxConnsPerWorker
	}
	if c.HistoryClients <= 0 {
		c.HistoryClients = max(1, c.Conns/10)
	}
	if c.RunID == "" {
		c.RunID = fmt.Sprintf("%x%x", time.Now().Unix()&0xffffff, c.Seed&0xff)
	}
}

// rooms is the number of rooms (chats) of the run.
func (c *Config) rooms() int {
	if c.Scenario == ScenarioConnect || c.RoomSize < 0 {
		return 0
	}
	return (c.Conns + c.RoomSize - 1) / c.RoomSize
}

// sends reports whether the scenario sends messages.
func (c *Config) sends() bool {
	switch c.Scenario {
	case ScenarioRooms, ScenarioDirect, ScenarioBroadcast, ScenarioHistory, ScenarioReconnect:
		return true
	}
	return false
}

func (c *Config) validate() error {
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	switch {
	case !known:
		return fmt.Errorf("%w: unknown scenario %q (one of %s)", ErrConfig, c.Scenario, strings.Join(Scenarios, ", "))
	case len(c.URLs) == 0:
		return fmt.Errorf("%w: no --url", ErrConfig)
	case c.Conns > 1_000_000:
		return fmt.Errorf("%w: --conns %d is more than 1,000,000", ErrConfig, c.Conns)
	case c.Rate > 1_000_000 || c.ConnectRate > 1_000_000:
		return fmt.Errorf("%w: --rate above 1,000,000/s", ErrConfig)
	case c.Duration > 24*time.Hour:
		return fmt.Errorf("%w: --duration above 24h", ErrConfig)
	case c.Workers > 64:
		return fmt.Errorf("%w: --workers above 64", ErrConfig)
	case (c.Conns+c.Workers-1)/c.Workers > 18000:
		return fmt.Errorf("%w: %d connections per worker would exceed the open-files limit; use more --workers", ErrConfig, (c.Conns+c.Workers-1)/c.Workers)
	case len(c.StatsURLs) > 0 && len(c.StatsURLs) != len(c.URLs):
		return fmt.Errorf("%w: --stats-url gives %d addresses for %d --url; give one per node, in the same order", ErrConfig, len(c.StatsURLs), len(c.URLs))
	case c.RoomAffinity != AffinityNone && c.RoomAffinity != AffinityNode:
		return fmt.Errorf("%w: unknown --room-affinity %q (none or node)", ErrConfig, c.RoomAffinity)
	case c.QuietChats < 0 || c.QuietChats > 100:
		return fmt.Errorf("%w: --quiet-chats must be 0 to 100", ErrConfig)
	case c.QuietChats > 0 && (c.Guests || c.rooms() == 0):
		return fmt.Errorf("%w: --quiet-chats are chats of registered users in rooms (drop --guests; --room-size must be positive)", ErrConfig)
	case c.Scenario == ScenarioReconnect && c.Guests:
		return fmt.Errorf("%w: reconnect resumes registered users' chats; a guest's membership ends with its connection (drop --guests)", ErrConfig)
	case c.Scenario == ScenarioDirect && c.Conns%2 != 0:
		return fmt.Errorf("%w: direct needs an even --conns", ErrConfig)
	}
	for _, u := range c.URLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ws" && pu.Scheme != "wss") || pu.Host == "" {
			return fmt.Errorf("%w: --url %q is not a ws:// URL", ErrConfig, u)
		}
	}
	for _, s := range c.SourceIPs {
		if ip := net.ParseIP(s); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%w: source address %q is not a loopback address", ErrConfig, s)
		}
	}
	return nil
}

// ParseIPRange expands "127.0.0.2-127.0.0.9" (or a comma-separated list
// of addresses and ranges) into addresses. Only loopback addresses are
// accepted.
func ParseIPRange(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, b := net.ParseIP(lo).To4(), net.ParseIP(hi).To4()
		if !isRange {
			b = a
		}
		if a == nil || b == nil || !a.IsLoopback() || !b.IsLoopback() || a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || a[3] > b[3] {
			return nil, fmt.Errorf("%w: %q is not a loopback IPv4 address or range a.b.c.x-a.b.c.y", ErrConfig, part)
		}
		for i := int(a[3]); i <= int(b[3]); i++ {
			out = append(out, net.IPv4(a[0], a[1], a[2], byte(i)).String())
		}
	}
	return out, nil
}
