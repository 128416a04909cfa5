// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

// Action keys. "default" is deliberately not used: a click on the body of a
// notification invokes "default", and using the real address must be a
// deliberate choice from the notification's menu. "restore" is the plain
// choice and lasts for this connection only; "always" is a separate one.
const (
	ActionRestore       = "restore"
	ActionRestoreAlways = "restore-always"
	ActionKeep          = "keep"
	// ActionKeepSame answers a captive portal that forgets the private
	// address: the same private address for that network from now on.
	ActionKeepSame = "keep-same"
)

// KindPortalForgets is the suspicion kind of a captive portal that forgets
// the private address (detect.KindPortalForgets): its offer is the same
// private address, never the real one.
const KindPortalForgets = "portal-forgets"

// The action labels, as the user reads them.
func labelRestore(c *Catalog) string       { return c.T("Use real address this time") }
func labelRestoreAlways(c *Catalog) string { return c.T("Always use real address on this network") }
func labelKeep(c *Catalog) string          { return c.T("Keep address private") }
func labelKeepSame(c *Catalog) string      { return c.T("Keep the same private address for this network") }
func labelChangeNothing(c *Catalog) string { return c.T("Change nothing") }

// The scopes of a restore (policy.Scope values), as the service's Restore
// method takes them.
const (
	ScopeOnce   = "once"
	ScopeAlways = "always"
	// ScopeStable is the agent's own name for the KeepPrivate choice.
	ScopeStable = "stable"
)

// UndoCommand is the command that forgets a lasting choice of the real
// address; the outcome of an "always" restore names it with the network's
// connection UUID.
const UndoCommand = "mac-nmguard exemptions forget"

// RestoreCommand is the command that does what the offer's "use the real
// address" choices do, for a notification server that shows no actions.
const RestoreCommand = "mac-nmguard restore"

// CheckCommand explains what the service decided for each card.
const CheckCommand = "mac-nmguard check"

// The Violation signal's actions (nmhook's recordViolation).
const (
	ViolationRefused    = "refused"
	ViolationRemediated = "remediated"
	ViolationKeptDown   = "kept down: address could not be set"
)

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
	// NeedsAnswer marks an open choice: the server is asked to keep it on
	// screen until the user answers (urgency critical, "resident").
	NeedsAnswer bool
	// NoActions replaces the actions on a server that shows none: it says
	// how to make each choice from a terminal ("" for a message without
	// actions).
	NoActions string
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
	if m.NoActions != "" {
		b.WriteString(" — ")
		b.WriteString(strings.ReplaceAll(m.NoActions, "\n", " "))
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

// quoted puts a name in the language's quotation marks.
func quoted(c *Catalog, name string) string {
	// TRANSLATORS: quotation marks around a name (of a network, a choice).
	return c.F("“{text}”", "text", name)
}

// shellWord makes a device name safe to paste into a shell: names of
// letters, digits and ._-:@ as they are, anything else single-quoted.
func shellWord(s string) string {
	ok := s != ""
	for _, r := range s {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-:@", r))) {
			ok = false
		}
	}
	if ok {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// deviceLine names the card at the end of a body.
func deviceLine(c *Catalog, device string) string {
	if dev := cleanName(device); dev != "" {
		return "\n" + c.F("(Network card {device})", "device", dev)
	}
	return ""
}

// kindText says in plain words what the network did, for a suspicion kind
// (detect.Kind values). An unknown kind gets a general sentence.
func kindText(c *Catalog, kind string) string {
	switch kind {
	case "auth-loop":
		return c.T("It keeps asking for the password, even when the right one is given.")
	case "auth-failure":
		return c.T("Signing in failed: the password may be wrong, or the network refused to let this computer sign in with its private address.")
	case "auth-rejected":
		return c.T("The access point refused to let this computer in.")
	case "dhcp-failure":
		return c.T("It accepted the connection but never gave this computer an address on the network.")
	case "association-timeout":
		return c.T("Connecting to it keeps timing out.")
	}
	return c.T("Connecting to it keeps failing.")
}

// SuspicionMessage is the offer shown for a suspicion: which network, what
// happened, that a network can cause it on purpose, and what each choice
// does; for a server without actions, the commands that make the choices.
func SuspicionMessage(c *Catalog, s api.Suspicion) Message {
	if s.Kind == KindPortalForgets {
		return PortalMessage(c, s)
	}
	name := networkName(s.Connection.SSID, s.Connection.ID)
	summary := c.T("A network may be refusing this computer")
	if name != "" {
		summary = c.F("Network {network} may be refusing this computer", "network", quoted(c, name))
	}
	body := kindText(c, s.Kind) + " " +
		c.T("Some networks only let in computers they already know, and this computer is hiding its real address. "+
			"But a network can also cause this on purpose, to make this computer show its real address.") + "\n" +
		c.F("{choice}: this network recognises this computer until it disconnects.", "choice", quoted(c, labelRestore(c))) + "\n" +
		alwaysText(c, s.Connection.SSID, s.Connection.ID) + "\n" +
		c.T("Keeping the address private may leave this network unusable.") +
		deviceLine(c, s.Device)
	var noActions string
	if dev := cleanName(s.Device); dev != "" {
		cmd := RestoreCommand + " " + shellWord(dev)
		noActions = c.T("This notification cannot show buttons here. Choose in a terminal:") + "\n" +
			c.F("{choice}: run {command}", "choice", quoted(c, labelRestore(c)), "command", cmd) + "\n" +
			c.F("{choice}: run {command}", "choice", quoted(c, labelRestoreAlways(c)), "command", cmd+" --always") + "\n" +
			c.F("{choice}: do nothing.", "choice", quoted(c, labelKeep(c)))
	}
	return Message{
		Summary: summary,
		Body:    body,
		Actions: []Action{
			{Key: ActionRestore, Label: labelRestore(c)},
			{Key: ActionKeep, Label: labelKeep(c)},
			{Key: ActionRestoreAlways, Label: labelRestoreAlways(c)},
		},
		Urgency:     UrgencyCritical,
		Persistent:  true,
		NeedsAnswer: true,
		NoActions:   noActions,
		Category:    "network.error",
	}
}

// PortalMessage is the offer for a captive portal that forgets the private
// address: keep the same private address for that network (never the real
// address), or change nothing.
func PortalMessage(c *Catalog, s api.Suspicion) Message {
	name := networkName(s.Connection.SSID, s.Connection.ID)
	summary := c.T("A network forgets this computer")
	if name != "" {
		summary = c.F("Network {network} forgets this computer", "network", quoted(c, name))
	}
	body := c.T("Its sign-in page asks again every time this computer connects, because this computer shows it a new private address each time.") + "\n" +
		c.F("{choice}: this network will see one private address every time, so it remembers the sign-in, and it can recognise this computer when it comes back. It never sees the real address, and other networks still see new private addresses.", "choice", quoted(c, labelKeepSame(c))) + "\n" +
		c.F("{choice}: sign in again at every connection.", "choice", quoted(c, labelChangeNothing(c))) +
		deviceLine(c, s.Device)
	var noActions string
	if dev := cleanName(s.Device); dev != "" {
		noActions = c.T("This notification cannot show buttons here. Choose in a terminal:") + "\n" +
			c.F("{choice}: run {command}", "choice", quoted(c, labelKeepSame(c)), "command", RestoreCommand+" "+shellWord(dev)+" --keep-private") + "\n" +
			c.F("{choice}: do nothing.", "choice", quoted(c, labelChangeNothing(c)))
	}
	return Message{
		Summary: summary,
		Body:    body,
		Actions: []Action{
			{Key: ActionKeepSame, Label: labelKeepSame(c)},
			{Key: ActionKeep, Label: labelChangeNothing(c)},
		},
		Urgency:     UrgencyNormal,
		Persistent:  true,
		NeedsAnswer: true,
		NoActions:   noActions,
		Category:    "network",
	}
}

// alwaysText says who will recognise the computer after an "always"
// choice: every network with the Wi-Fi name (an impostor can take any
// name), or, for a profile without one, every network the profile is used
// on (for a cable, any wired network).
func alwaysText(c *Catalog, ssid, id string) string {
	choice := quoted(c, labelRestoreAlways(c))
	if n := cleanName(ssid); n != "" {
		return c.F("{choice}: every time, and every network named {network} will then recognise this computer, including one that only pretends to be it.",
			"choice", choice, "network", quoted(c, n))
	}
	if n := cleanName(id); n != "" {
		return c.F("{choice}: every time, and every network this computer joins with the connection {network} (with a cable: any wired network) will then recognise this computer.",
			"choice", choice, "network", quoted(c, n))
	}
	return c.F("{choice}: every time, and every network with the same name will then recognise this computer.", "choice", choice)
}

// RestoringMessage replaces the offer once the user chose the real address
// with scope (ScopeOnce or ScopeAlways).
func RestoringMessage(c *Catalog, s api.Suspicion, scope string) Message {
	name := networkName(s.Connection.SSID, s.Connection.ID)
	if scope == ScopeStable {
		summary := c.T("Reconnecting with the same private address")
		if name != "" {
			summary = c.F("Reconnecting to {network} with the same private address", "network", quoted(c, name))
		}
		return Message{Summary: summary,
			Body:    c.T("This network will see the same private address every time this computer connects. Other networks still see new private addresses."),
			Urgency: UrgencyNormal, Persistent: true, Category: "network"}
	}
	summary := c.T("Reconnecting with the real address")
	if name != "" {
		summary = c.F("Reconnecting to {network} with the real address", "network", quoted(c, name))
	}
	body := c.T("This network will be able to recognise this computer until it disconnects. Other networks still see a private address.")
	if scope == ScopeAlways {
		body = c.T("This network will be able to recognise this computer every time it connects. Other networks still see a private address.")
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
func RestoredMessage(c *Catalog, name, device, uuid, scope string) Message {
	if scope == ScopeStable {
		return keptMessage(c, name, device, uuid)
	}
	summary := c.T("Connected with the real address")
	if name != "" {
		summary = c.F("Connected to {network} with the real address", "network", quoted(c, name))
	}
	var body string
	switch scope {
	case ScopeOnce:
		body = c.T("This computer uses its real address on this network until it disconnects. Other networks still see a private address.")
	case ScopeAlways:
		body = c.T("This computer now uses its real address on this network, and will whenever it connects to it. Other networks still see a private address.")
		if u := cleanName(uuid); u != "" {
			body += "\n" + c.F("To undo this, run: {command}", "command", UndoCommand+" "+u)
		}
	default:
		body = c.T("This computer now uses its real address on this network. Other networks still see a private address.")
	}
	body += deviceLine(c, device)
	return Message{Summary: summary, Body: body, Urgency: UrgencyNormal, Category: "network.connected"}
}

// keptMessage says the network now sees the same private address, and how
// to undo it.
func keptMessage(c *Catalog, name, device, uuid string) Message {
	summary := c.T("Connected with the same private address")
	if name != "" {
		summary = c.F("Connected to {network} with the same private address", "network", quoted(c, name))
	}
	body := c.T("This network now sees the same private address whenever this computer connects to it. It never sees the real address.")
	if u := cleanName(uuid); u != "" {
		body += "\n" + c.F("To undo this, run: {command}", "command", UndoCommand+" "+u)
	}
	body += deviceLine(c, device)
	return Message{Summary: summary, Body: body, Urgency: UrgencyNormal, Category: "network.connected"}
}

// KeepFailedMessage says keeping the same private address did not work.
func KeepFailedMessage(c *Catalog, name, device, reason string) Message {
	summary := c.T("Could not keep the same private address")
	if name != "" {
		summary = c.F("Could not reconnect to {network}", "network", quoted(c, name))
	}
	body := c.T("Keeping the same private address for this network did not work. This computer still hides its real address.")
	if r := cleanReason(reason); r != "" {
		body += "\n" + c.F("Details: {reason}", "reason", r)
	}
	body += deviceLine(c, device)
	return Message{Summary: summary, Body: body, Urgency: UrgencyCritical, Category: "network.error"}
}

// RestoreFailedMessage says the restore did not work and why (reason is
// the service's words, or the agent's own, already translated).
func RestoreFailedMessage(c *Catalog, name, device, reason string) Message {
	summary := c.T("Could not reconnect with the real address")
	if name != "" {
		summary = c.F("Could not reconnect to {network}", "network", quoted(c, name))
	}
	body := c.T("Switching to the real address did not work. This computer still hides its real address.")
	if r := cleanReason(reason); r != "" {
		body += "\n" + c.F("Details: {reason}", "reason", r)
	}
	body += deviceLine(c, device)
	return Message{Summary: summary, Body: body, Urgency: UrgencyCritical, Category: "network.error"}
}

// ViolationMessage tells what the service did to a card whose address
// would have revealed the computer, from the Violation signal's action
// (ViolationRefused, ViolationRemediated, ViolationKeptDown; any other
// gets a general message, never none) and reason. The reason is the
// service's technical account (NetworkManager settings, addresses): it is
// not shown, but read for what the user can do about it.
func ViolationMessage(c *Catalog, device, action, reason string) Message {
	dev := cleanName(device)
	if dev == "" {
		dev = "?"
	}
	check := c.F("To see why, run: {command}", "command", CheckCommand)
	m := Message{Urgency: UrgencyCritical, Category: "network.error"}
	switch action {
	case ViolationRefused:
		m.Summary = c.F("Network card {device} was not connected", "device", dev)
		switch {
		case strings.Contains(reason, "cloned-mac-address="):
			m.Body = c.T("The settings of this connection ask for an address that would reveal this computer, so the card was kept off the network.")
			if p := profileInReason(reason); p != "" {
				m.Body = c.F("The settings of the connection {network} ask for an address that would reveal this computer, so the card was kept off the network.",
					"network", quoted(c, p))
			}
			m.Body += "\n" + c.F("To connect with a private address: in the network settings, open this connection and, on its Identity tab, set {field} to {value} or leave it empty.",
				// TRANSLATORS: the field and value as the network settings (GNOME) call them in your language.
				"field", quoted(c, c.T("Cloned Address")), "value", quoted(c, c.T("Preserve"))) + "\n" +
				c.F("To use the real address on this network instead, run: {command}", "command", RestoreCommand+" "+shellWord(dev)+" --always")
		case strings.HasPrefix(reason, "the real address could not be determined"):
			m.Body = c.T("Its real address is unknown, so nothing shows that it is hidden: the card is kept off the network.") + "\n" + check
		case strings.HasPrefix(reason, "held until the user decides"):
			m.Body = c.T("Network cards stay offline until you choose whether to hide their addresses.") + "\n" +
				c.F("To hide them, run: {command}", "command", "mac-nmguard decide --spoof")
		default:
			m.Body = c.T("Its address could not be hidden, so it was kept off the network to protect your privacy.") + "\n" + check
		}
	case ViolationRemediated:
		m.Summary = c.F("Network card {device} was reconnected with a private address", "device", dev)
		m.Body = c.T("It was about to connect with an address that could reveal this computer. It was disconnected, given a private address and connected again.")
		m.Urgency = UrgencyNormal
	case ViolationKeptDown:
		m.Summary = c.F("Network card {device} was kept offline", "device", dev)
		m.Body = c.T("Its address could not be changed to a private one, so it is kept off the network.")
		if strings.Contains(reason, "not supported") {
			m.Body += " " + c.T("This card does not let its address be changed.")
		}
		m.Body += "\n" + check
	default:
		m.Summary = c.F("Network card {device} was stopped to keep its address private", "device", dev)
		m.Body = c.T("The service acted to keep this card's real address private.") + "\n" + check
	}
	return m
}

// profileInReason is the connection name in a service reason that quotes
// it (`profile "Office" would set ...`), cleaned; "" when there is none.
func profileInReason(reason string) string {
	_, rest, ok := strings.Cut(reason, `profile "`)
	if !ok {
		return ""
	}
	q, err := strconv.QuotedPrefix(`"` + rest)
	if err != nil {
		return ""
	}
	name, err := strconv.Unquote(q)
	if err != nil {
		return ""
	}
	return cleanName(name)
}

// maxReasonRunes bounds a reason text taken from the service.
const maxReasonRunes = 300

// cleanReason is a reason from the service made fit for a message: one
// line, bounded, no trailing full stop.
func cleanReason(s string) string {
	return strings.TrimRight(oneLine(s, maxReasonRunes), ".")
}
