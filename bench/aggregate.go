package bench

import (
	"fmt"
	"time"
)

// report merges the workers' parts into the run's Result and lists every
// violated invariant as a problem.
func (co *coordinator) report(parts []*workerResult, senders []SenderTally, epoch, sendStart time.Time) (*Result, error) {
	c := co.cfg
	r := &Result{
		Scenario: c.Scenario, URLs: c.URLs, RunID: c.RunID, Seed: c.Seed, Guests: c.Guests,
		Conns: c.Conns, Rate: c.Rate, Duration: c.Duration.String(), Workers: c.Workers,
		Errors: map[string]int64{}, Nodes: co.nodes,
	}
	if nr := len(co.plan.Chats); nr > 0 {
		r.Rooms, r.RoomSize = nr, c.RoomSize
	}
	hs, dl, ak, hi := newMerged(), newMerged(), newMerged(), newMerged()
	same, cross := newMerged(), newMerged()
	rh, live := newMerged(), newMerged()
	var storm stormStats
	var d Delivery
	var hist HistoryStats
	var connectNs int64
	for _, p := range parts {
		r.Connect.Attempted += p.Attempted
		r.Connect.Connected += p.Connected
		r.Connect.Failed += p.Failed
		connectNs = max(connectNs, p.ConnectNs)
		for _, m := range []struct {
			into *merged
			s    series
		}{{hs, p.Handshake}, {dl, p.Deliver}, {ak, p.Ack}, {hi, p.History}, {same, p.DeliverSame}, {cross, p.DeliverCross}, {rh, p.Reconnect}, {live, p.DuringStorm}} {
			if err := m.into.addSeries(m.s); err != nil {
				return nil, err
			}
		}
		d.add(p.Delivery)
		storm.Attempted += p.Storm.Attempted
		storm.Done += p.Storm.Done
		storm.Failed += p.Storm.Failed
		storm.Ns = max(storm.Ns, p.Storm.Ns)
		hist.Requests += p.HistStats.Requests
		hist.Pages += p.HistStats.Pages
		hist.Messages += p.HistStats.Messages
		hist.BadPages += p.HistStats.BadPages
		for k, v := range p.Errors {
			r.Errors[k] += v
		}
		r.Examples = append(r.Examples, p.Examples...)
		r.Generator.max(p.Generator)
	}
	r.Connect.Seconds = float64(connectNs) / 1e9
	if r.Connect.Seconds > 0 {
		r.Connect.PerSec = float64(r.Connect.Connected) / r.Connect.Seconds
	}
	r.Connect.Handshake = summarize(hs.all)
	if co.connectCPU > 0 && r.Connect.Connected > 0 {
		r.Connect.NodeCPUPerConn = co.connectCPU / float64(r.Connect.Connected) * 1e6
	}
	if r.Connect.Failed > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d of %d connections failed to connect or join", r.Connect.Failed, r.Connect.Attempted))
	}
	if c.sends() {
		sd := senderSide(senders)
		d.Sent, d.Acked, d.Failed, d.Unacked = sd.Sent, sd.Acked, sd.Failed, sd.Unacked
		r.Senders = len(senders)
		r.Delivery = &d
		r.DeliverLatency, r.AckLatency = summarize(dl.all), summarize(ak.all)
		if len(c.URLs) > 1 {
			s, x := summarize(same.all), summarize(cross.all)
			r.DeliverSameNode, r.DeliverCrossNode = &s, &x
		}
		secs := c.Duration.Seconds()
		r.DeliveriesPerSec = float64(d.Delivered) / secs
		r.AcksPerSec = float64(d.Acked) / secs
		// Windows count from the epoch; the plots start at the send phase.
		skip := int(sendStart.Sub(epoch) / time.Second)
		r.Timeline, r.AckTimeline = trim(dl.timeline(), skip), trim(ak.timeline(), skip)
		r.CDF, r.AckCDF = dl.cdf(), ak.cdf()
		co.problems(r, &d)
		r.Examples = append(r.Examples, d.Examples...)
		d.Examples = nil
	}
	if c.Scenario == ScenarioReconnect {
		rc := &ReconnectStats{Attempted: storm.Attempted, Done: storm.Done, Failed: storm.Failed,
			Seconds: float64(storm.Ns) / 1e9, Handshake: summarize(rh.all), Live: summarize(live.all)}
		if rc.Seconds > 0 {
			rc.PerSec = float64(rc.Done) / rc.Seconds
		}
		r.Reconnect = rc
		if rc.Failed > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%d of %d connections failed to reconnect", rc.Failed, rc.Attempted))
		}
		if rc.Attempted == 0 {
			r.Problems = append(r.Problems, "the storm reconnected nothing")
		}
	}
	if c.Scenario == ScenarioHistory {
		hist.Latency = summarize(hi.all)
		r.History = &hist
		if hist.BadPages > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%d history pages out of order or past their cursor", hist.BadPages))
		}
	}
	if len(r.Errors) == 0 {
		r.Errors = nil
	}
	return r, nil
}

func (co *coordinator) problems(r *Result, d *Delivery) {
	add := func(n int64, what string) {
		if n > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(d.Lost, "LOST deliveries (acknowledged messages a member never received)")
	add(d.Duplicates, "DUPLICATE deliveries")
	add(d.OutOfOrder, "OUT-OF-ORDER deliveries (chat seq went backwards)")
	add(d.Unexpected, "unexpected deliveries (refused or never sent)")
	add(d.Unacked, "messages never acknowledged nor refused")
	if d.Sent > 0 && d.Delivered == 0 {
		r.Problems = append(r.Problems, "no message was delivered")
	}
	if d.Sent == 0 && r.Connect.Connected > 0 {
		r.Problems = append(r.Problems, "no message was sent")
	}
	if maxMs := float64(co.cfg.P99Max) / float64(time.Millisecond); maxMs > 0 && r.DeliverLatency.P99 > maxMs {
		r.Problems = append(r.Problems, fmt.Sprintf("publish->deliver p99 %.1f ms is over --p99-max %v", r.DeliverLatency.P99, co.cfg.P99Max))
	}
}

// trim drops the windows before the send phase and renumbers the rest.
func trim(tl []TimePoint, skip int) []TimePoint {
	if skip >= len(tl) {
		return nil
	}
	tl = tl[max(skip, 0):]
	for i := range tl {
		tl[i].Second = i
	}
	return tl
}
