package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mac-nmguard/mac-nmguard/nmhook"
)

// Action keys. "default" is deliberately not used: a click on the body of a
// notification invokes "default", and using the real address must be a
// deliberate choice from the notification's menu. "restore" is the plain
// choice and lasts for this connection only; "always" is a separate one.
const (
	ActionRestore       = "restore"
	ActionRestoreAlways = "restore-always"
	ActionKeep          = "keep"
)

// Action labels, as the user reads them.
const (
	labelRestore       = "Use real address this time"
	labelRestoreAlways = "Always use real address on this network"
	labelKeep          = "Keep address private"
)

// The scopes of a restore (policy.Scope values), as the service's Restore
// method takes them.
const (
	ScopeOnce   = "once"
	ScopeAlways = "always"
)

// UndoCommand is the command that forgets a lasting choice of the real
// address; the outcome of an "always" restore names it with the network's
// connection UUID.
const UndoCommand = "mac-nmguard exemptions forget"

// Urgency of a notification (the freedesktop levels).
type Urgency byte

// Urgency levels.
const (
	UrgencyLow      Urgency = 0
	UrgencyNormal   Urgency = 1
	UrgencyCritical Urgency = 2
)

// Action is one choice offered by a notification.
type Action struct {
	Key   string
	Label string
}

// Message is what one notification says. Summary and Body are plain text
// (the session side escapes them for servers that read markup).
type Message struct {
	Summary string
	Body    string
	Actions []Action
	Urgency Urgency
	// Persistent messages stay until the user acts or they are replaced
	// (an open choice, a restore under way); others expire as the server
	// decides.
	Persistent bool
	// Category is the freedesktop category hint ("network.error", ...).
	Category string
}

// String is the message on one line, for logs.
func (m Message) String() string {
	var b strings.Builder
	b.WriteString(m.Summary)
	if m.Body != "" {
		b.WriteString(" — ")
		b.WriteString(strings.ReplaceAll(m.Body, "\n", " "))
	}
	for i, a := range m.Actions {
		if i == 0 {
			b.WriteString(" [")
		} else {
			b.WriteString(" | ")
		}
		b.WriteString(a.Label)
		if i == len(m.Actions)-1 {
			b.WriteString("]")
		}
	}
	return b.String()
}

// maxNameRunes bounds a network or device name in a message (an SSID is at
// most 32 bytes; a profile id can be anything).
const maxNameRunes = 48

// cleanName makes a name from the network safe to show (see oneLine).
func cleanName(s string) string { return oneLine(s, maxNameRunes) }

// oneLine makes text from elsewhere fit for a message: invalid UTF-8
// replaced, control and format characters (newlines, bidi overrides)
// dropped, space collapsed, and text longer than max runes cut with an
// ellipsis.
func oneLine(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

// networkName is the name a person knows the network by: the SSID, else the
// profile name; "" when neither is known.
func networkName(ssid, id string) string {
	if n := cleanName(ssid); n != "" {
		return n
	}
	return cleanName(id)
}

func quoted(name string) string { return "“" + name + "”" }

// kindText says in plain words what the network did, for a suspicion kind
// (detect.Kind values). An unknown kind gets a general sentence.
func kindText(kind string) string {
	switch kind {
	case "auth-loop":
		return "It keeps asking for the password, even when the right one is given."
	case "auth-failure":
		return "Signing in failed: the password may be wrong, or the network refused to let this computer sign in with its private address."
	case "auth-rejected":
		return "The access point refused to let this computer in."
	case "dhcp-failure":
		return "It accepted the connection but never gave this computer an address on the network."
	case "association-timeout":
		return "Connecting to it keeps timing out."
	}
	return "Connecting to it keeps failing."
}

// SuspicionMessage is the offer shown for a suspicion: which network, what
// happened, that a network can cause it on purpose, and what each choice
// does.
func SuspicionMessage(s nmhook.APISuspicion) Message {
	name := networkName(s.Connection.SSID, s.Connection.ID)
	summary := "A network may be refusing this computer"
	if name != "" {
		summary = "Network " + quoted(name) + " may be refusing this computer"
	}
	body := kindText(s.Kind) + " Some networks only let in computers they already know, " +
		"and this computer is hiding its real address. " +
		"But a network can also cause this on purpose, to make this computer show its real address.\n" +
		quoted(labelRestore) + ": this network recognises this computer until it disconnects.\n" +
		quoted(labelRestoreAlways) + ": " + alwaysText(s.Connection.SSID, s.Connection.ID) + "\n" +
		"Keeping the address private may leave this network unusable."
	if dev := cleanName(s.Device); dev != "" {
		body += "\n(Network card " + dev + ")"
	}
	return Message{
		Summary: summary,
		Body:    body,
		Actions: []Action{
			{Key: ActionRestore, Label: labelRestore},
			{Key: ActionKeep, Label: labelKeep},
			{Key: ActionRestoreAlways, Label: labelRestoreAlways},
		},
		Urgency:    UrgencyNormal,
		Persistent: true,
		Category:   "network.error",
	}
}

// alwaysText says who will recognise the computer after an "always"
// choice: every network with the Wi-Fi name (an impostor can take any
// name), or, for a profile without one, every network the profile is used
// on (for a cable, any wired network).
func alwaysText(ssid, id string) string {
	if n := cleanName(ssid); n != "" {
		return "every time, and every network named " + quoted(n) +
			" will then recognise this computer, including one that only pretends to be it."
	}
	if n := cleanName(id); n != "" {
		return "every time, and every network this computer joins with the connection " + quoted(n) +
			" (with a cable: any wired network) will then recognise this computer."
	}
	return "every time, and every network with the same name will then recognise this computer."
}

// RestoringMessage replaces the offer once the user chose the real address
// with scope (ScopeOnce or ScopeAlways).
func RestoringMessage(s nmhook.APISuspicion, scope string) Message {
	name := networkName(s.Connection.SSID, s.Connection.ID)
	summary := "Reconnecting with the real address"
	if name != "" {
		summary = "Reconnecting to " + quoted(name) + " with the real address"
	}
	body := "This network will be able to recognise this computer until it disconnects. Other networks still see a private address."
	if scope == ScopeAlways {
		body = "This network will be able to recognise this computer every time it connects. Other networks still see a private address."
	}
	return Message{
		Summary:    summary,
		Body:       body,
		Urgency:    UrgencyNormal,
		Persistent: true,
		Category:   "network",
	}
}

// RestoredMessage says the restore worked. name may be "" (a restore the
// agent did not start, for a network it has no name for). scope is the
// scope the agent asked for ("" when it did not start the restore); after
// ScopeAlways the message says how to undo it, with the connection uuid.
func RestoredMessage(name, device, uuid, scope string) Message {
	summary := "Connected with the real address"
	if name != "" {
		summary = "Connected to " + quoted(name) + " with the real address"
	}
	var body string
	switch scope {
	case ScopeOnce:
		body = "This computer uses its real address on this network until it disconnects. " +
			"Other networks still see a private address."
	case ScopeAlways:
		body = "This computer now uses its real address on this network, and will whenever it connects to it. " +
			"Other networks still see a private address."
		if u := cleanName(uuid); u != "" {
			body += "\nTo undo this, run: " + UndoCommand + " " + u
		}
	default:
		body = "This computer now uses its real address on this network. Other networks still see a private address."
	}
	if dev := cleanName(device); dev != "" {
		body += "\n(Network card " + dev + ")"
	}
	return Message{Summary: summary, Body: body, Urgency: UrgencyNormal, Category: "network.connected"}
}

// RestoreFailedMessage says the restore did not work and why.
func RestoreFailedMessage(name, device, reason string) Message {
	summary := "Could not reconnect with the real address"
	if name != "" {
		summary = "Could not reconnect to " + quoted(name)
	}
	body := "Switching to the real address did not work"
	if r := cleanReason(reason); r != "" {
		body += ": " + r
	}
	body += "."
	if dev := cleanName(device); dev != "" {
		body += "\n(Network card " + dev + ")"
	}
	return Message{Summary: summary, Body: body, Urgency: UrgencyCritical, Category: "network.error"}
}

// ViolationMessage tells that the gate kept a device off the network. The
// action is the service's Violation action ("refused", "kept down: address
// could not be set"); any other action gets a general message, never none.
func ViolationMessage(device, action, reason string) Message {
	dev := cleanName(device)
	if dev == "" {
		dev = "?"
	}
	var summary, body string
	switch action {
	case "refused":
		summary = "Network card " + dev + " was not connected"
		body = "Its address could not be hidden, so it was kept off the network to protect your privacy."
	case "kept down: address could not be set":
		summary = "Network card " + dev + " was kept offline"
		body = "Its address could not be changed to a private one, so it was not connected."
	default:
		summary = "Network card " + dev + " was stopped"
		body = "It was stopped to keep its address private (" + cleanReason(action) + ")."
	}
	if r := cleanReason(reason); r != "" {
		body += "\nDetails: " + r
	}
	return Message{Summary: summary, Body: body, Urgency: UrgencyCritical, Category: "network.error"}
}

// maxReasonRunes bounds a reason text taken from the service.
const maxReasonRunes = 300

// cleanReason is a reason from the service made fit for a message: one
// line, bounded, no trailing full stop.
func cleanReason(s string) string {
	return strings.TrimRight(oneLine(s, maxReasonRunes), ".")
}
