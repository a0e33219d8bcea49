package chart

import (
	"fmt"
	"time"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/watch"
)

// synthetic is a release of secs seconds under load: 001 then 002 on three nodes, a failed
// step and a lost session in the middle.
func synthetic(secs int) (Input, []deployer.Event) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var tl []watch.Second
	for i := range secs {
		frac := float64(i) / float64(secs)
		s := watch.Second{At: i, Requests: 1500 + i%7*10, New: map[string]int{}, Existing: map[string]int{}}
		s.New["001"] = int(30 * (1 - frac))
		s.New["002"] = int(30 * frac)
		s.Existing["001"] = int(1470 * (1 - frac))
		s.Existing["002"] = int(1470 * frac)
		if i == secs/2 {
			s.Failed, s.Lost = 3, 2
		}
		tl = append(tl, s)
	}
	at := func(f float64) time.Time { return start.Add(time.Duration(f * float64(secs) * float64(time.Second))) }
	var ev []deployer.Event
	kinds := []string{"preflight", "route", "deploy", "gate", "route", "route", "deploy", "gate", "route", "drain"}
	nodes := []string{"", "n1", "n1", "n1", "n1", "n2", "n2", "n2", "n2", ""}
	for i, k := range kinds {
		t0, t1 := at(0.1+0.08*float64(i)), at(0.1+0.08*float64(i+1))
		ev = append(ev, deployer.Event{Type: deployer.EventStepStarted, Step: i + 1, Kind: k, Time: t0})
		if nodes[i] != "" {
			ev = append(ev, deployer.Event{Type: deployer.EventProgress, Step: i + 1, Kind: k, Node: nodes[i], Time: t0.Add(time.Millisecond)})
		}
		typ := deployer.EventStepFinished
		if i == 7 {
			typ = deployer.EventStepFailed
		}
		ev = append(ev, deployer.Event{Type: typ, Step: i + 1, Kind: k, Time: t1})
		if typ == deployer.EventStepFailed {
			ev = append(ev, deployer.Event{Type: deployer.EventStepStarted, Kind: "rollback route", Time: t1},
				deployer.Event{Type: deployer.EventStepFinished, Kind: "rollback route", Time: t1.Add(time.Second)})
			break
		}
	}
	in := FromReport(fmt.Sprintf("synthetic release, %d s", secs), &watch.Report{Start: start, Timeline: tl}, ev)
	in.Marks = []Mark{{At: at(0.5), Label: "n3 killed"}}
	return in, ev
}
