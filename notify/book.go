// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"cmp"
	"maps"
	"slices"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

// phase is where a slot stands.
type phase int

const (
	phaseOffered   phase = iota // the choice is on offer
	phaseRestoring              // the user chose the real address; waiting for the outcome
	phaseRestored               // the outcome: connected with the real address
	phaseFailed                 // the outcome: the restore failed
	phaseKept                   // the user kept the private address
	phaseInfo                   // a notice without a choice (violations)
)

// seen is whether the user has the slot's message on screen.
type seen int

const (
	seenNot    seen = iota // not shown yet (no server, or not yet confirmed)
	seenShown              // the server shows it
	seenClosed             // closed (by the user or the server): not shown again
)

// slot is the Book's record of one notification slot.
type slot struct {
	susp  api.Suspicion // SlotNetwork: the suspicion offered
	name  string        // network name for messages ("" when unknown)
	scope string        // the scope the user chose (ScopeOnce, ScopeAlways), "" before
	phase phase
	seen  seen
	msg   Message // last message for the slot
}

// Book is the agent's pure state: which suspicion each slot offers, where the
// user's choice stands, and what to do on each event. It does no I/O; its
// methods return the effects to apply, in order. Not safe for concurrent
// use: the agent's loop owns it.
type Book struct {
	cat   *Catalog
	slots map[Key]*slot
}

// NewBook returns an empty Book whose messages are in cat's language (nil:
// English).
func NewBook(cat *Catalog) *Book { return &Book{cat: cat, slots: map[Key]*slot{}} }

// Suspicion handles a Suspicion signal: the suspicion is offered in its
// device+network slot, replacing whatever the slot showed (an older
// suspicion, or the outcome of an earlier choice). A suspicion without id or
// device is ignored (the service always sends both).
func (b *Book) Suspicion(s api.Suspicion) []Effect {
	if s.ID == "" || s.Device == "" {
		return nil
	}
	k := suspicionKey(s)
	sl := &slot{susp: s, name: networkName(s.Connection.SSID, s.Connection.ID), phase: phaseOffered, msg: SuspicionMessage(b.cat, s)}
	b.slots[k] = sl
	return []Effect{Show{Key: k, Msg: sl.msg}}
}

// Pending handles the service's list of pending suspicions (asked for on
// every (re)connection): a suspicion the Book does not know yet is offered;
// one it already knows is left as it is (on screen, or closed by the user);
// an offer whose suspicion is no longer pending is withdrawn (the service
// resolved it meanwhile: a choice on it would fail).
func (b *Book) Pending(list []api.Suspicion) []Effect {
	var out []Effect
	pending := map[string]bool{}
	for _, s := range list {
		pending[s.ID] = true
	}
	for _, k := range b.sortedKeys() {
		sl := b.slots[k]
		if k.Slot == SlotNetwork && sl.phase == phaseOffered && !pending[sl.susp.ID] {
			delete(b.slots, k)
			if sl.seen == seenShown {
				out = append(out, Close{Key: k})
			}
		}
	}
	for _, s := range list {
		if sl, ok := b.slots[suspicionKey(s)]; ok && sl.susp.ID == s.ID {
			continue
		}
		out = append(out, b.Suspicion(s)...)
	}
	return out
}

// Violation handles a Violation signal: one notice per device, the newest
// replacing the older.
func (b *Book) Violation(device, action, reason string) []Effect {
	if device == "" {
		return nil
	}
	k := Key{Slot: SlotDevice, Device: device}
	sl := &slot{phase: phaseInfo, msg: ViolationMessage(b.cat, device, action, reason)}
	b.slots[k] = sl
	return []Effect{Show{Key: k, Msg: sl.msg}}
}

// Action handles the user's choice on the notification of slot k. Only an
// offer takes choices, only "restore" (this time), "restore-always" and
// "keep" mean anything; "default" (a click on the body) and any other key
// change nothing.
func (b *Book) Action(k Key, action string) []Effect {
	sl, ok := b.slots[k]
	if !ok || k.Slot != SlotNetwork || sl.phase != phaseOffered {
		return nil
	}
	portal := sl.susp.Kind == KindPortalForgets
	switch action {
	case ActionKeepSame:
		if !portal {
			return nil
		}
		sl.scope = ScopeStable
		sl.phase = phaseRestoring
		sl.msg = RestoringMessage(b.cat, sl.susp, sl.scope)
		return []Effect{
			Show{Key: k, Msg: sl.msg},
			Call{Key: k, Method: MethodKeepPrivate, Device: sl.susp.Device, UUID: sl.susp.Connection.UUID},
		}
	case ActionRestore, ActionRestoreAlways:
		if portal {
			return nil // a portal is never offered the real address
		}
		sl.scope = ScopeOnce
		if action == ActionRestoreAlways {
			sl.scope = ScopeAlways
		}
		sl.phase = phaseRestoring
		sl.msg = RestoringMessage(b.cat, sl.susp, sl.scope)
		return []Effect{
			Show{Key: k, Msg: sl.msg},
			Call{Key: k, Method: MethodRestore, Device: sl.susp.Device, UUID: sl.susp.Connection.UUID, Scope: sl.scope},
		}
	case ActionKeep:
		sl.phase = phaseKept
		return []Effect{
			Call{Key: k, Method: MethodDismiss, ID: sl.susp.ID},
			Close{Key: k},
		}
	}
	return nil
}

// Shown records whether the server took slot k's latest message.
func (b *Book) Shown(k Key, ok bool) {
	sl, found := b.slots[k]
	if !found || sl.seen == seenClosed {
		return
	}
	if ok {
		sl.seen = seenShown
	} else {
		sl.seen = seenNot
	}
}

// Closed handles the notification of slot k going away (closed by the user,
// expired, or closed after an action). Nothing is asked of the service: a
// closed offer stays pending there. The slot is remembered so that the
// offer is not shown again for the same suspicion; a slot whose story is
// over is forgotten.
func (b *Book) Closed(k Key) {
	sl, ok := b.slots[k]
	if !ok {
		return
	}
	switch sl.phase {
	case phaseOffered, phaseRestoring:
		sl.seen = seenClosed
	default:
		delete(b.slots, k)
	}
}

// Restored handles the service's Restored signal.
func (b *Book) Restored(device, uuid string) []Effect {
	k, sl := b.outcomeSlot(device, uuid)
	if sl.phase == phaseRestored {
		return nil
	}
	sl.phase = phaseRestored
	sl.seen = seenNot
	sl.msg = RestoredMessage(b.cat, sl.name, device, uuid, sl.scope)
	return []Effect{Show{Key: k, Msg: sl.msg}}
}

// RestoreFailed handles the service's RestoreFailed signal.
func (b *Book) RestoreFailed(device, uuid, reason string) []Effect {
	k, sl := b.outcomeSlot(device, uuid)
	if sl.phase == phaseFailed {
		return nil // the failed call already told
	}
	sl.phase = phaseFailed
	sl.seen = seenNot
	sl.msg = failedMessage(b.cat, sl, device, reason)
	return []Effect{Show{Key: k, Msg: sl.msg}}
}

// CallFailed handles a call to the service that failed. A failed Restore
// ends the restore (unless the service's signal told already); a failed
// Dismiss leaves things as they are (the suspicion stays pending at the
// service and is offered again on the next reconnection).
func (b *Book) CallFailed(c Call, reason string) []Effect {
	if c.Method != MethodRestore && c.Method != MethodKeepPrivate {
		return nil
	}
	sl, ok := b.slots[c.Key]
	if !ok || sl.phase != phaseRestoring {
		return nil
	}
	sl.phase = phaseFailed
	sl.seen = seenNot
	sl.msg = failedMessage(b.cat, sl, c.Device, reason)
	return []Effect{Show{Key: c.Key, Msg: sl.msg}}
}

// failedMessage says the slot's choice did not work.
func failedMessage(c *Catalog, sl *slot, device, reason string) Message {
	if sl.scope == ScopeStable {
		return KeepFailedMessage(c, sl.name, device, reason)
	}
	return RestoreFailedMessage(c, sl.name, device, reason)
}

// ServerUp handles a notification server that (re)appeared: every slot the
// user has not closed is shown (again), in a stable order.
func (b *Book) ServerUp() []Effect {
	var out []Effect
	for _, k := range b.sortedKeys() {
		sl := b.slots[k]
		if sl.seen == seenClosed || sl.phase == phaseKept {
			continue
		}
		out = append(out, Show{Key: k, Msg: sl.msg})
	}
	return out
}

// outcomeSlot finds the slot a restore outcome for (device, uuid) belongs
// to: the device+network slot; else the device's slot that is restoring (a
// suspicion known by SSID only, which the service resolved to a profile);
// else a new slot (a restore started elsewhere, e.g. by the CLI).
func (b *Book) outcomeSlot(device, uuid string) (Key, *slot) {
	k := Key{Slot: SlotNetwork, Device: device, Network: networkIdentity(uuid, "", "")}
	if sl, ok := b.slots[k]; ok {
		return k, sl
	}
	for _, k2 := range b.sortedKeys() {
		if sl := b.slots[k2]; k2.Slot == SlotNetwork && k2.Device == device && sl.phase == phaseRestoring {
			return k2, sl
		}
	}
	sl := &slot{phase: phaseInfo}
	b.slots[k] = sl
	return k, sl
}

// sortedKeys returns the slots' keys in a stable order.
func (b *Book) sortedKeys() []Key {
	return slices.SortedFunc(maps.Keys(b.slots), func(x, y Key) int {
		switch {
		case x.Slot != y.Slot:
			return cmp.Compare(string(x.Slot), string(y.Slot))
		case x.Device != y.Device:
			return cmp.Compare(x.Device, y.Device)
		}
		return cmp.Compare(x.Network, y.Network)
	})
}
