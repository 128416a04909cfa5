// SPDX-License-Identifier: GPL-3.0-or-later

package notify

// Effect is what the agent must do after a decision of the Book: show or
// close a notification on the session bus, or call the service on the
// system bus.
type Effect interface{ isEffect() }

// Show puts Msg on screen in Key's slot, replacing what the slot shows.
type Show struct {
	Key Key
	Msg Message
}

// Close takes Key's notification off the screen.
type Close struct{ Key Key }

// Method names a call to the service.
type Method string

// The calls the agent makes.
const (
	MethodRestore Method = "Restore"
	MethodDismiss Method = "Dismiss"
	// MethodKeepPrivate: the same private address for the network.
	MethodKeepPrivate Method = "KeepPrivate"
)

// Call asks the service for something on behalf of the slot Key.
type Call struct {
	Key    Key
	Method Method
	Device string // Restore, KeepPrivate
	UUID   string // Restore, KeepPrivate: connection UUID ("" lets the service use the pending suspicion's)
	Scope  string // Restore: "once" | "always"
	ID     string // Dismiss: suspicion id
}

func (Show) isEffect()  {}
func (Close) isEffect() {}
func (Call) isEffect()  {}
