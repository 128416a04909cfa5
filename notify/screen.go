// SPDX-License-Identifier: GPL-3.0-or-later

package notify

// screen is the session side's record of which notification (server id)
// shows which slot, so that a newer message for a slot replaces the
// notification on screen instead of piling up, and a server's ActionInvoked
// or NotificationClosed is traced back to its slot. Each id carries the
// sequence number of the reply that gave it: a NotificationClosed received
// before that reply (a close of the old notification that raced with its
// replacement) is stale. Not safe for concurrent use: the session goroutine
// owns it.
type screen struct {
	byKey map[Key]shownID
	byID  map[uint32]Key
}

type shownID struct {
	id  uint32
	seq uint64 // sequence number of the Notify reply (0: unknown)
}

func newScreen() *screen {
	return &screen{byKey: map[Key]shownID{}, byID: map[uint32]Key{}}
}

// replaces is the id a new message for k replaces (0: none).
func (s *screen) replaces(k Key) uint32 { return s.byKey[k].id }

// shown records that the server shows k as id, from the reply numbered seq.
func (s *screen) shown(k Key, id uint32, seq uint64) {
	if old, ok := s.byKey[k]; ok && old.id != id {
		delete(s.byID, old.id)
	}
	if other, ok := s.byID[id]; ok && other != k {
		delete(s.byKey, other) // the server reused an id: the older slot is gone
	}
	s.byKey[k] = shownID{id: id, seq: seq}
	s.byID[id] = k
}

// lookup finds the slot notification id shows.
func (s *screen) lookup(id uint32) (Key, bool) {
	k, ok := s.byID[id]
	return k, ok
}

// closed handles the server's NotificationClosed for id, received as message
// number seq: the slot it showed, or false when id is not ours or the signal
// predates the notification now shown under id.
func (s *screen) closed(id uint32, seq uint64) (Key, bool) {
	k, ok := s.byID[id]
	if !ok {
		return Key{}, false
	}
	if cur := s.byKey[k]; seq != 0 && cur.seq != 0 && seq < cur.seq {
		return Key{}, false
	}
	delete(s.byID, id)
	delete(s.byKey, k)
	return k, true
}

// forget drops k (closed by the agent) and returns its id (0: none).
func (s *screen) forget(k Key) uint32 {
	cur, ok := s.byKey[k]
	if !ok {
		return 0
	}
	delete(s.byKey, k)
	delete(s.byID, cur.id)
	return cur.id
}

// reset forgets everything: the server went away or changed.
func (s *screen) reset() {
	clear(s.byKey)
	clear(s.byID)
}
