package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// chatOptions are natter chat's flags.
type chatOptions struct {
	url       string
	user      string
	password  string
	register  bool
	room      string
	guest     bool
	send      string
	sendSet   bool
	listen    int
	listenSet bool
	timeout   time.Duration
	history   int
	json      bool
}

// interactive is true without --send and --listen: lines from stdin are
// sent and everything is printed.
func (o *chatOptions) interactive() bool { return !o.sendSet && !o.listenSet }

const chatUsage = `Usage: natter chat --url URL --room ROOM (--user NAME --password PW | --guest) [flags]

A terminal chat client. Without --send or --listen it is interactive: each
line typed is sent to the room; incoming messages print as
"[15:04:05] #SEQ name: text". Commands: /members, /history [N],
/edit SEQ TEXT, /delete SEQ, /react SEQ EMOJI, /unreact SEQ EMOJI,
/reply SEQ TEXT, /quit (or end of input), /help; a line starting with //
sends the text after one slash. Edits, deletions and reactions print as
they come ("* alice edited #12: ...").
When the connection drops it reconnects and resumes where it left off.
It says which chats have unread messages when it connects and who in the
room is typing; the room's messages it prints count as read on every
device of the user.

For scripts: --send TEXT sends one message and exits when the node has
stored it (non-zero on an error); --listen N prints the next N messages of
the room and exits (with --timeout D, non-zero if fewer came). Both may be
given: send first, then listen. --history N prints the room's last N
messages first.

Flags:
`

// parseChatFlags reads natter chat's flags; --help prints the usage to
// out and returns flag.ErrHelp.
func parseChatFlags(args []string, env func(string) (string, bool), out io.Writer) (*chatOptions, error) {
	o := &chatOptions{}
	fs := flag.NewFlagSet("natter chat", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.url, "url", "ws://localhost:8080", "the node's `url`: ws://host:port or http://host:port (wss:// or https:// for TLS)")
	fs.StringVar(&o.user, "user", "", "log in as the user `name`")
	fs.StringVar(&o.password, "password", "", "the user's `password`; default: $NATTER_PASSWORD")
	fs.BoolVar(&o.register, "register", false, "create the user if it does not exist yet")
	fs.StringVar(&o.room, "room", "", "the public `room` to join, e.g. '#general' (created on its first join)")
	fs.BoolVar(&o.guest, "guest", false, "connect without an account, as a guest (the node needs --allow-guests)")
	fs.StringVar(&o.send, "send", "", "send `text` to the room and exit once the node has stored it")
	fs.IntVar(&o.listen, "listen", 0, "print the room's next `N` messages, then exit (0: exit after joining and --history)")
	fs.DurationVar(&o.timeout, "timeout", 0, "with --send or --listen: give up after this `duration` and exit non-zero; default: none for --listen, 30s for --send alone")
	fs.IntVar(&o.history, "history", 0, "print the room's last `N` messages after joining")
	fs.BoolVar(&o.json, "json", false, "print frames as the node sent them, one JSON object per line")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(out, chatUsage)
			printFlags(out, fs)
			return nil, err
		}
		return nil, fmt.Errorf("chat: %v (see natter chat --help)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("chat: unexpected argument %q (quote the text of --send)", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "send":
			o.sendSet = true
		case "listen":
			o.listenSet = true
		}
	})
	if o.password == "" {
		o.password, _ = env("NATTER_PASSWORD")
	}
	switch {
	case strings.TrimSpace(o.room) == "":
		return nil, errors.New("chat: --room is required")
	case o.guest && (o.user != "" || o.register):
		return nil, errors.New("chat: --guest connects without an account; drop --user and --register")
	case !o.guest && o.user == "":
		return nil, errors.New("chat: --user NAME is required (or --guest)")
	case !o.guest && o.password == "":
		return nil, errors.New("chat: --password (or NATTER_PASSWORD) is required with --user")
	case o.sendSet && strings.TrimSpace(o.send) == "":
		return nil, errors.New("chat: --send needs a text")
	case o.listen < 0:
		return nil, errors.New("chat: --listen must not be negative")
	case o.history < 0 || o.history > 1000:
		return nil, errors.New("chat: --history must be between 0 and 1000")
	case o.timeout < 0:
		return nil, errors.New("chat: --timeout must not be negative")
	}
	return o, nil
}

// printFlags prints a flag set as --name ARG and the wrapped usage.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	const col = 24
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		name := "  --" + f.Name
		if arg != "" {
			name += " " + strings.ToUpper(arg)
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			usage += " (default " + f.DefValue + ")"
		}
		printHelpLine(w, col, name, usage)
	})
}

// chatEndpoints are a node's HTTP API base and WebSocket URL.
type chatEndpoints struct {
	api string // http://host:port[/prefix], no trailing slash
	ws  string // ws://host:port[/prefix]/ws
}

// parseChatURL accepts ws://, wss://, http:// and https:// URLs of a
// node, with or without the /ws path.
func parseChatURL(raw string) (chatEndpoints, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return chatEndpoints{}, fmt.Errorf("chat: --url %q must be like ws://host:port or http://host:port", raw)
	}
	var httpScheme, wsScheme string
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		httpScheme, wsScheme = "http", "ws"
	case "wss", "https":
		httpScheme, wsScheme = "https", "wss"
	default:
		return chatEndpoints{}, fmt.Errorf("chat: --url %q: the scheme must be ws, wss, http or https", raw)
	}
	prefix := strings.TrimSuffix(u.Path, "/")
	for _, p := range []string{"/ws", "/websockets"} {
		prefix = strings.TrimSuffix(prefix, p)
	}
	return chatEndpoints{
		api: httpScheme + "://" + u.Host + prefix,
		ws:  wsScheme + "://" + u.Host + prefix + "/ws",
	}, nil
}
