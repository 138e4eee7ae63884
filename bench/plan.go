package bench

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
)

// Plan is the layout of a run, computed once by the coordinator: which
// connection goes to which node from which source address, which chat it
// is in and whether it sends. Workers get their slice of it.
type Plan struct {
	Chats []ChatPlan `json:"chats"`
	// Quiet are the chats nobody sends to (Config.QuietChats).
	Quiet []ChatPlan `json:"quiet,omitempty"`
	Conns []ConnPlan `json:"conns"`
}

// ChatPlan is one chat of the run.
type ChatPlan struct {
	// Name is the public room's name (guests join by it).
	Name string `json:"name"`
	// ID is the chat id when known in advance (accounts); guests learn
	// it from MemberList.
	ID string `json:"id,omitempty"`
	// Members and Senders are connection indexes.
	Members []int `json:"members"`
	Senders []int `json:"senders"`
}

// ConnPlan is one connection of the run.
type ConnPlan struct {
	ID     int    `json:"id"`
	URL    string `json:"url"`
	Source string `json:"source,omitempty"`
	Chat   int    `json:"chat"` // -1: none
	// Quiet are the indexes of the quiet chats it is a member of.
	Quiet []int `json:"quiet,omitempty"`
	// Token is the account's token (accounts mode).
	Token  string `json:"token,omitempty"`
	Sender bool   `json:"sender,omitempty"`
	// History pages through the chat's history (history scenario).
	History bool `json:"history,omitempty"`
	// Phase is the sender's offset in the send interval, in [0,1).
	Phase float64 `json:"phase,omitempty"`
}

// newPlan lays out the run: the members of a room are a seeded shuffle of
// the connections, so that rooms span workers; connection i goes to URL
// i mod len(URLs), so that rooms span nodes too, or with AffinityNode to
// its room's URL (see nodeOf); senders are spread evenly over rooms.
// Tokens (accounts mode) are filled in later by setupAccounts.
func newPlan(c *Config) *Plan {
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x6e6174746572))
	p := &Plan{Conns: make([]ConnPlan, c.Conns)}
	for i := range p.Conns {
		cp := &p.Conns[i]
		cp.ID, cp.URL, cp.Chat = i, c.URLs[nodeOf(i, len(c.URLs))], -1
		if len(c.SourceIPs) > 0 {
			cp.Source = c.SourceIPs[(i/len(c.URLs))%len(c.SourceIPs)]
		}
	}
	nRooms := c.rooms()
	if nRooms == 0 {
		return p
	}
	perm := rng.Perm(c.Conns)
	if c.Scenario == ScenarioDirect {
		perm = identity(c.Conns) // pairs of neighbours: on two nodes when there are two or more
	}
	p.Chats = make([]ChatPlan, nRooms)
	for k := range p.Chats {
		p.Chats[k].Name = fmt.Sprintf("#bench-%s-%d", c.RunID, k)
	}
	for pos, id := range perm {
		k := pos / c.RoomSize
		p.Chats[k].Members = append(p.Chats[k].Members, id)
		p.Conns[id].Chat = k
		if c.RoomAffinity == AffinityNode {
			p.Conns[id].URL = c.URLs[roomNode(k, len(c.URLs))]
		}
	}
	p.layOutQuiet(c, rng)
	if !c.sends() {
		return p
	}
	// Sender j is member j/nRooms of room j%nRooms.
	for j := range c.Senders {
		ch := &p.Chats[j%nRooms]
		m := j / nRooms
		if m >= len(ch.Members) {
			continue
		}
		id := ch.Members[m]
		ch.Senders = append(ch.Senders, id)
		p.Conns[id].Sender = true
		p.Conns[id].Phase = rng.Float64()
	}
	if c.Scenario == ScenarioHistory {
		// History clients are the non-senders, taken evenly from the end.
		n := 0
		for i := len(p.Conns) - 1; i >= 0 && n < c.HistoryClients; i-- {
			if !p.Conns[i].Sender {
				p.Conns[i].History = true
				n++
			}
		}
	}
	for k := range p.Chats {
		sort.Ints(p.Chats[k].Senders)
	}
	return p
}

// layOutQuiet makes c.QuietChats rounds of quiet rooms: each round a new
// shuffle of every connection into rooms of c.RoomSize, so that each
// connection is in one room of every round.
func (p *Plan) layOutQuiet(c *Config, rng *rand.Rand) {
	for round := range c.QuietChats {
		first := len(p.Quiet)
		for pos, id := range rng.Perm(c.Conns) {
			k := first + pos/c.RoomSize
			if k == len(p.Quiet) {
				p.Quiet = append(p.Quiet, ChatPlan{Name: fmt.Sprintf("#bench-%s-q%d-%d", c.RunID, round, k-first)})
			}
			p.Quiet[k].Members = append(p.Quiet[k].Members, id)
			p.Conns[id].Quiet = append(p.Conns[id].Quiet, k)
		}
	}
}

func identity(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// dialURL is the URL connection cp dials: with ?room= for guests, with
// ?token= for accounts.
func dialURL(cp *ConnPlan, chats []ChatPlan, token string) (string, error) {
	u, err := url.Parse(cp.URL)
	if err != nil {
		return "", fmt.Errorf("bench: parse url %q: %w", cp.URL, err)
	}
	q := u.Query()
	if token != "" {
		q.Set("token", token)
	} else if cp.Chat >= 0 {
		q.Set("room", chats[cp.Chat].Name)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// part returns worker k's share of n connections out of w: [lo, hi).
func part(n, w, k int) (lo, hi int) { return k * n / w, (k + 1) * n / w }

// shares splits the connections among c.Workers worker processes:
// contiguous parts, except in a reconnect storm with two workers or more,
// where the senders have worker 0 to themselves. The senders' own
// deliveries are the storm's live traffic, and a worker that also
// redials thousands of connections delays its readers by its own load
// (its goroutines waited up to hundreds of milliseconds for the
// processor): the live latency then measured the generator as much as
// the nodes.
func (p *Plan) shares(c *Config) [][]ConnPlan {
	out := make([][]ConnPlan, c.Workers)
	if c.Scenario != ScenarioReconnect || c.Workers < 2 {
		for k := range out {
			lo, hi := part(len(p.Conns), c.Workers, k)
			out[k] = p.Conns[lo:hi]
		}
		return out
	}
	var rest []ConnPlan
	for _, cp := range p.Conns {
		if cp.Sender {
			out[0] = append(out[0], cp)
		} else {
			rest = append(rest, cp)
		}
	}
	for k := 1; k < c.Workers; k++ {
		lo, hi := part(len(rest), c.Workers-1, k-1)
		out[k] = rest[lo:hi]
	}
	return out
}

// nodeOf is the index of the target URL that connection conn uses, out of
// n, without AffinityNode: the connections go round the nodes, so a worker
// that sees only its own connections still knows every sender's node
// (cross-node latency). With AffinityNode a sender and its receivers
// share a room and so a node.
func nodeOf(conn, n int) int { return conn % n }

// roomNode is the index of the URL that every member of room k uses with
// AffinityNode, out of n: rooms go round the nodes, and as rooms have the
// same size (but the last), so do connections.
func roomNode(k, n int) int { return k % n }
