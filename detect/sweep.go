// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"sort"
	"time"
)

// Memory bounds. Episodes without a pending suspicion are forgotten after
// a quiet Window; a pending suspicion is kept for pendingRetention so the
// user can still answer it; and at most maxEpisodes are kept at all.
const (
	pendingRetention = 24 * time.Hour
	maxEpisodes      = 1024
)

// maybeSweep evicts old episodes. It runs when the detector's clock (the
// latest event time) moved a quarter Window since the last sweep, or when
// there are too many episodes, so Feed stays cheap.
func (d *Detector) maybeSweep() {
	if len(d.episodes) <= maxEpisodes && d.now.Sub(d.lastSweep) < d.cfg.Window/4 {
		return
	}
	d.lastSweep = d.now
	for key, ep := range d.episodes {
		keep := d.cfg.Window
		if ep.state.status == statusSuspected {
			keep = pendingRetention
		}
		if d.now.Sub(ep.lastSeen) > keep {
			d.evict(key, "quiet for "+keep.String())
		}
	}
	if len(d.episodes) <= maxEpisodes {
		return
	}
	// Still too many: drop the least recently seen, episodes without a
	// pending suspicion first.
	eps := make([]*episode, 0, len(d.episodes))
	for _, ep := range d.episodes {
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool {
		pi, pj := eps[i].state.status == statusSuspected, eps[j].state.status == statusSuspected
		if pi != pj {
			return !pi
		}
		return eps[i].lastSeen.Before(eps[j].lastSeen)
	})
	for _, ep := range eps[:len(eps)-maxEpisodes] {
		d.evict(ep.key, "too many episodes")
	}
}

// evict forgets an episode.
func (d *Detector) evict(key, why string) {
	ep := d.episodes[key]
	if ep == nil {
		return
	}
	d.log.Debug("detect: forgetting episode ("+why+")",
		"device", ep.device, "connection", ep.conn.UUID, "state", ep.state.String())
	delete(d.episodes, key)
	if d.current[ep.device] == key {
		delete(d.current, ep.device)
	}
}
