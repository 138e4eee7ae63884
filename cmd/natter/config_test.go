package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/node"
)

// envMap is a fake environment for loadOptions.
func envMap(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeConfig(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, args []string, env func(string) (string, bool)) *options {
	t.Helper()
	o, err := loadOptions(args, env, io.Discard)
	if err != nil {
		t.Fatalf("loadOptions(%q): %v", args, err)
	}
	return o
}

func TestConfigDefaults(t *testing.T) {
	o := mustLoad(t, nil, envMap())
	cfg := o.nodeConfig(nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", o.listen, ":8080"},
		{"data-dir", cfg.DataDir, "./natter-data"},
		{"cluster-name", cfg.ClusterName, "natter"},
		{"max-message-len", cfg.MaxMessageLen, 4000},
		{"max-rooms-per-user", cfg.MaxRoomsPerUser, 1000},
		{"max-devices-per-user", cfg.MaxDevicesPerUser, 64},
		{"max-connections", cfg.MaxConnections, 1_000_000},
		{"max-handshakes", cfg.MaxHandshakes, 32},
		{"handshake-timeout", cfg.HandshakeTimeout, 5 * time.Second},
		{"rate-limit", cfg.RateLimit, 20.0},
		{"rate-burst", cfg.RateBurst, 40},
		{"token-ttl", cfg.TokenTTL, 24 * time.Hour},
		{"max-login-failures-per-account", cfg.MaxLoginFailuresPerAccount, 10},
		{"max-login-failures-per-source", cfg.MaxLoginFailuresPerSource, 100},
		{"max-registrations-per-source", cfg.MaxRegistrationsPerSource, 20},
		{"auth-limit-window", cfg.AuthLimitWindow, 10 * time.Minute},
		{"resume-limit", cfg.ResumeLimit, 1000},
		{"request-timeout", cfg.RequestTimeout, 15 * time.Second},
		{"start-timeout", cfg.StartTimeout, 2 * time.Minute},
		{"heartbeat-interval", cfg.HeartbeatInterval, time.Second},
		{"node-dead-after", cfg.NodeDeadAfter, time.Duration(0)}, // node: 5 × heartbeat
		{"workers", cfg.Conn.Workers, 0},                         // wsconn: auto
		{"max-frame-size", cfg.Conn.MaxMessageSize, 64 << 10},
		{"max-outbound-bytes", cfg.Conn.MaxOutboundBytes, 1 << 20},
		{"ping-interval", cfg.Conn.PingInterval, 30 * time.Second},
		{"idle-timeout", cfg.Conn.IdleTimeout, 75 * time.Second},
		{"message-max-age", cfg.Store.MaxAge, time.Duration(0)},
		{"max-msgs-per-chat", cfg.Store.MaxMsgsPerSubject, int64(0)},
		{"dedup-window", cfg.Store.Duplicates, 5 * time.Minute},
		{"sync", cfg.Sync, node.SyncInterval},
		{"log-format", o.logFormat, "text"},
		{"drain-timeout", o.drainTimeout, 30 * time.Second},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("default %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if cfg.Routes != nil || cfg.AllowedOrigins != nil {
		t.Errorf("default routes %v, origins %v; want none", cfg.Routes, cfg.AllowedOrigins)
	}
}

// TestConfigPrecedence: flag > environment > file > default, setting by
// setting.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, "natter.yaml", `
listen: ":7001"
max-rooms-per-user: 11
rate-limit: 2.5
log-level: warn
cluster-name: from-file
`)
	env := envMap(
		"NATTER_CONFIG", path,
		"NATTER_LISTEN", ":7002",
		"NATTER_MAX_ROOMS_PER_USER", "22",
	)
	o := mustLoad(t, []string{"--listen", ":7003"}, env)
	if o.listen != ":7003" {
		t.Errorf("listen = %q, want the flag's :7003", o.listen)
	}
	if o.maxRoomsPerUser != 22 {
		t.Errorf("max-rooms-per-user = %d, want the environment's 22", o.maxRoomsPerUser)
	}
	if o.rateLimit != 2.5 || o.logLevel != "warn" || o.clusterName != "from-file" {
		t.Errorf("rate-limit %v, log-level %q, cluster-name %q: want the file's 2.5, warn, from-file", o.rateLimit, o.logLevel, o.clusterName)
	}
	if o.maxMessageLen != 4000 {
		t.Errorf("max-message-len = %d, want the default 4000", o.maxMessageLen)
	}

	// --config on the command line wins over NATTER_CONFIG.
	other := writeConfig(t, "other.toml", `cluster-name = "other"`)
	o = mustLoad(t, []string{"--config", other}, env)
	if o.clusterName != "other" || o.listen != ":7002" {
		t.Errorf("with --config: cluster-name %q, listen %q; want other, :7002", o.clusterName, o.listen)
	}

	// A boolean flag given as --allow-guests=false beats the environment.
	o = mustLoad(t, []string{"--allow-guests=false"}, envMap("NATTER_ALLOW_GUESTS", "true"))
	if o.allowGuests {
		t.Error("--allow-guests=false lost to NATTER_ALLOW_GUESTS=true")
	}
	o = mustLoad(t, nil, envMap("NATTER_ALLOW_GUESTS", "true"))
	if !o.allowGuests {
		t.Error("NATTER_ALLOW_GUESTS=true ignored")
	}
}

func TestConfigFileYAML(t *testing.T) {
	path := writeConfig(t, "natter.yml", `
# a node of the production cluster
listen: ":9000"
data-dir: /var/lib/natter
secret: "0123456789abcdef-secret"
allow-guests: true
allowed-origins: "https://chat.example.com, https://admin.example.com"
routes:
  - nats://10.0.0.2:6222
  - nats://10.0.0.3:6222
cluster-listen: "0.0.0.0:6222"
replicas: 3
max-message-len: 2000
max-frame-size: 128KiB
max-outbound-bytes: 2097152
ping-interval: 20s
idle-timeout: 1m
rate-limit: 5
message-max-age: 720h
max-msgs-per-chat: 100000
dedup-window: 2m
workers: 8
token-ttl: 12h
node-dead-after: 10s
log-format: json
api-key: ~
sync: always
admin-listen: 127.0.0.1:9090
nats-monitor: 127.0.0.1:8222
`)
	o := mustLoad(t, []string{"--config", path}, envMap())
	cfg := o.nodeConfig(nil)
	if cfg.DataDir != "/var/lib/natter" || o.listen != ":9000" || !cfg.AllowGuests || cfg.Secret != "0123456789abcdef-secret" {
		t.Errorf("strings and bools: %+v", o)
	}
	if want := []string{"nats://10.0.0.2:6222", "nats://10.0.0.3:6222"}; !reflect.DeepEqual(cfg.Routes, want) {
		t.Errorf("routes = %q, want %q", cfg.Routes, want)
	}
	if want := []string{"https://chat.example.com", "https://admin.example.com"}; !reflect.DeepEqual(cfg.AllowedOrigins, want) {
		t.Errorf("allowed-origins = %q, want %q", cfg.AllowedOrigins, want)
	}
	if cfg.Replicas != 3 || cfg.MaxMessageLen != 2000 || cfg.Conn.MaxMessageSize != 128<<10 || cfg.Conn.MaxOutboundBytes != 2<<20 || cfg.Conn.Workers != 8 {
		t.Errorf("numbers: replicas %d, max-message-len %d, max-frame-size %d, max-outbound-bytes %d, workers %d",
			cfg.Replicas, cfg.MaxMessageLen, cfg.Conn.MaxMessageSize, cfg.Conn.MaxOutboundBytes, cfg.Conn.Workers)
	}
	if cfg.Conn.PingInterval != 20*time.Second || cfg.Conn.IdleTimeout != time.Minute || cfg.Store.MaxAge != 720*time.Hour ||
		cfg.Store.Duplicates != 2*time.Minute || cfg.TokenTTL != 12*time.Hour || cfg.NodeDeadAfter != 10*time.Second {
		t.Errorf("durations: %+v %+v", cfg.Conn, cfg.Store)
	}
	if cfg.RateLimit != 5 || cfg.Store.MaxMsgsPerSubject != 100000 || o.logFormat != "json" || cfg.APIKey != "" {
		t.Errorf("rate-limit %v, max-msgs-per-chat %d, log-format %q, api-key %q", cfg.RateLimit, cfg.Store.MaxMsgsPerSubject, o.logFormat, cfg.APIKey)
	}
	if cfg.Sync != node.SyncAlways {
		t.Errorf("sync = %q, want always", cfg.Sync)
	}
	if cfg.AdminListen != "127.0.0.1:9090" || cfg.NATSMonitor != "127.0.0.1:8222" {
		t.Errorf("admin-listen %q, nats-monitor %q", cfg.AdminListen, cfg.NATSMonitor)
	}
}

func TestConfigFileTOML(t *testing.T) {
	path := writeConfig(t, "natter.toml", `
listen = ":9100"
allow-guests = true
routes = ["nats://h2:6222", "nats://h3:6222"]
cluster-listen = "127.0.0.1:6222"
max-rooms-per-user = 50
rate-limit = 7.5
rate-burst = 15
idle-timeout = "90s"
max-frame-size = "1MiB"
log-level = "debug"
`)
	o := mustLoad(t, nil, envMap("NATTER_CONFIG", path))
	cfg := o.nodeConfig(nil)
	if o.listen != ":9100" || !o.allowGuests || cfg.MaxRoomsPerUser != 50 || cfg.RateLimit != 7.5 || cfg.RateBurst != 15 ||
		cfg.Conn.IdleTimeout != 90*time.Second || cfg.Conn.MaxMessageSize != 1<<20 || o.logLevel != "debug" {
		t.Errorf("TOML values not applied: %+v", o)
	}
	if want := []string{"nats://h2:6222", "nats://h3:6222"}; !reflect.DeepEqual(cfg.Routes, want) {
		t.Errorf("routes = %q, want %q", cfg.Routes, want)
	}
}

func TestConfigErrors(t *testing.T) {
	yamlFile := func(content string) []string {
		return []string{"--config", writeConfig(t, "natter.yaml", content)}
	}
	cases := []struct {
		name string
		args []string
		env  []string
		want string // in the error
	}{
		{"unknown yaml key", yamlFile("listen: \":1\"\nmax-romz: 3\n"), nil, `unknown setting "max-romz"`},
		{"underscore key", yamlFile("max_rooms_per_user: 3\n"), nil, `did you mean "max-rooms-per-user"`},
		{"unknown toml key", []string{"--config", writeConfig(t, "n.toml", "bogus = 1\n")}, nil, `unknown setting "bogus"`},
		{"toml table", []string{"--config", writeConfig(t, "n.toml", "[listen]\nx = 1\n")}, nil, "listen: must be a value"},
		{"config in config", yamlFile("config: other.yaml\n"), nil, `unknown setting "config"`},
		{"list for a single value", yamlFile("listen: [a, b]\n"), nil, "listen: must be a single value"},
		{"bad yaml", yamlFile("listen: [\n"), nil, "natter.yaml"},
		{"bad file type", []string{"--config", writeConfig(t, "natter.json", "{}")}, nil, `unknown file type ".json"`},
		{"missing file", []string{"--config", "/nonexistent/natter.yaml"}, nil, "--config"},
		{"bad int in file", yamlFile("max-rooms-per-user: lots\n"), nil, "max-rooms-per-user"},
		{"bad duration in file", yamlFile("token-ttl: 30\n"), nil, "token-ttl"},
		{"bad env", nil, []string{"NATTER_RATE_BURST", "x"}, "NATTER_RATE_BURST"},
		{"bad flag value", []string{"--ping-interval", "soon"}, nil, "--ping-interval"},
		{"unknown flag", []string{"--max-romz", "3"}, nil, "--max-romz"},
		{"stray argument", []string{"serve"}, nil, `unexpected argument "serve"`},
		{"idle vs ping", []string{"--idle-timeout", "10s"}, nil, "--idle-timeout must be longer than --ping-interval"},
		{"idle vs ping from env", nil, []string{"NATTER_PING_INTERVAL", "2m"}, "--idle-timeout must be longer than --ping-interval"},
		{"dead vs heartbeat", []string{"--node-dead-after", "1s"}, nil, "--node-dead-after must be longer than --heartbeat-interval"},
		{"short secret", []string{"--secret", "short"}, nil, "--secret must be at least 16 characters"},
		{"log format", yamlFile("log-format: xml\n"), nil, "--log-format must be text or json"},
		{"log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"zero duration", []string{"--handshake-timeout", "0s"}, nil, "--handshake-timeout must be positive"},
		{"negative duration", []string{"--token-ttl", "-1h"}, nil, "--token-ttl must be positive"},
		{"zero limit", []string{"--max-message-len", "0"}, nil, "--max-message-len must be positive"},
		{"negative workers", []string{"--workers", "-1"}, nil, "--workers must not be negative"},
		{"storm gc 0", []string{"--storm-gc-percent", "0"}, nil, "--storm-gc-percent must be positive, or -1"},
		{"storm gc -2", nil, []string{"NATTER_STORM_GC_PERCENT", "-2"}, "--storm-gc-percent must be positive, or -1"},
		{"zero rate", []string{"--rate-limit", "0"}, nil, "--rate-limit must be positive"},
		{"zero login cap", []string{"--max-login-failures-per-account", "0"}, nil, "--max-login-failures-per-account must be positive, or -1 for no cap"},
		{"registration cap -2", nil, []string{"NATTER_MAX_REGISTRATIONS_PER_SOURCE", "-2"}, "--max-registrations-per-source must be positive, or -1 for no cap"},
		{"zero auth window", []string{"--auth-limit-window", "0s"}, nil, "--auth-limit-window must be positive"},
		{"bad size", []string{"--max-frame-size", "big"}, nil, "--max-frame-size"},
		{"replicas", []string{"--replicas", "7"}, nil, "--replicas must be between 0 (auto) and 5"},
		{"tls cert without key", []string{"--tls-cert", "c.pem"}, nil, "--tls-cert and --tls-key go together"},
		{"tls reload 0", []string{"--tls-reload-interval", "0s"}, nil, "--tls-reload-interval must be positive"},
		{"route tls without ca", []string{"--cluster-listen", ":6222", "--cluster-tls-cert", "c", "--cluster-tls-key", "k"}, nil, "--cluster-tls-ca go together"},
		{"route user without cluster", []string{"--cluster-user", "u", "--cluster-password", "p"}, nil, "they need --cluster-listen"},
		{"nkey without nats-url", []string{"--nats-nkey", "u.nk"}, nil, "they need --nats-url"},
		{"creds and nkey", []string{"--nats-url", "nats://h:4222", "--nats-creds", "a", "--nats-nkey", "b"}, nil, "give one"},
		{"routes without cluster-listen", []string{"--routes", "nats://h:6222"}, nil, "--routes needs --cluster-listen"},
		{"leaf remote without domain", []string{"--leafnode-remote", "nats-leaf://hub:7422"}, nil, "need --jetstream-domain"},
		{"leaf listen without domain", nil, []string{"NATTER_LEAFNODE_LISTEN", ":7422"}, "need --jetstream-domain"},
		{"leaf remote with nats-url", []string{"--nats-url", "nats://n1:4222", "--leafnode-remote", "nats-leaf://hub:7422", "--jetstream-domain", "hub"}, nil, "--nats-url uses an external NATS"},
		{"sync value", []string{"--sync", "sometimes"}, nil, `--sync must be always or interval, not "sometimes"`},
		{"sync always with nats-url", []string{"--nats-url", "nats://n1:4222"}, []string{"NATTER_SYNC", "always"}, "--sync always configures the embedded NATS server"},
		{"nats-monitor with nats-url", []string{"--nats-url", "nats://n1:4222", "--nats-monitor", "127.0.0.1:8222"}, nil, "--nats-monitor and the --leafnode options configure the embedded one"},
		{"admin on the public port", []string{"--listen", ":9000"}, []string{"NATTER_ADMIN_LISTEN", ":9000"}, "--admin-listen must differ from --listen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadOptions(c.args, envMap(c.env...), io.Discard)
			if err == nil {
				t.Fatalf("no error; want one containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestConfigValueSyntax(t *testing.T) {
	o := mustLoad(t, []string{"--max-frame-size", "32k", "--max-outbound-bytes", "4 MiB", "--max-connections", "100_000", "--allow-guests=yes"}, envMap())
	if o.maxFrameSize != 32<<10 || o.maxOutboundBytes != 4<<20 || o.maxConnections != 100000 || !o.allowGuests {
		t.Errorf("sizes %d %d, connections %d, guests %v", o.maxFrameSize, o.maxOutboundBytes, o.maxConnections, o.allowGuests)
	}
	for _, c := range []struct {
		in   int64
		want string
	}{{64 << 10, "64KiB"}, {1 << 20, "1MiB"}, {3 << 30, "3GiB"}, {1000, "1000"}, {0, "0"}} {
		if got := formatSize(c.in); got != c.want {
			t.Errorf("formatSize(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestConfigHelp: --help prints every setting in its group, and returns
// flag.ErrHelp (main exits 0).
func TestConfigHelp(t *testing.T) {
	var buf bytes.Buffer
	_, err := loadOptions([]string{"--help"}, envMap(), &buf)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v, want flag.ErrHelp", err)
	}
	help := buf.String()
	last := -1
	for _, g := range groupOrder {
		i := strings.Index(help, "\n"+g+":\n")
		if i < 0 || i < last {
			t.Fatalf("group %q missing or out of order in:\n%s", g, help)
		}
		last = i
	}
	for _, st := range defineSettings(&options{}).all {
		if !strings.Contains(help, "  --"+st.name+" ") && !strings.Contains(help, "  --"+st.name+"\n") {
			t.Errorf("--help does not list --%s", st.name)
		}
	}
	if !strings.Contains(help, "(default 75s)") || !strings.Contains(help, "(default 64KiB)") {
		t.Errorf("--help lacks defaults:\n%s", help)
	}
	for _, line := range strings.Split(help, "\n") {
		if len([]rune(line)) > 80 {
			t.Errorf("help line longer than 80 characters: %q", line)
		}
	}
}

// TestConfigDocs: docs/configuration.md lists every setting with its
// environment variable.
func TestConfigDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, st := range defineSettings(&options{}).all {
		if !strings.Contains(doc, "`--"+st.name+"`") || !strings.Contains(doc, "`"+st.envName()+"`") {
			t.Errorf("docs/configuration.md lacks --%s or %s", st.name, st.envName())
		}
	}
}

// TestConfigDocExamples: the YAML and TOML examples of
// docs/configuration.md load and pass validation.
func TestConfigDocExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"yaml", "toml"} {
		_, rest, ok := strings.Cut(string(b), "```"+lang+"\n")
		if !ok {
			t.Fatalf("no %s example", lang)
		}
		example, _, _ := strings.Cut(rest, "```")
		path := writeConfig(t, "natter."+lang, example)
		if _, err := loadOptions([]string{"--config", path}, envMap(), io.Discard); err != nil {
			t.Errorf("the %s example: %v", lang, err)
		}
	}
}

// TestConfigSyncWithNATSURL: --sync interval, the default, goes with
// --nats-url (it configures nothing there); only always is refused.
func TestConfigSyncWithNATSURL(t *testing.T) {
	o := mustLoad(t, []string{"--nats-url", "nats://n1:4222", "--sync", "interval"}, envMap())
	if cfg := o.nodeConfig(nil); cfg.Sync != node.SyncInterval || cfg.NATSURL == "" {
		t.Errorf("sync %q, nats-url %q", cfg.Sync, cfg.NATSURL)
	}
}
