// SPDX-License-Identifier: GPL-3.0-or-later

package main

// The parts of the man pages that the command tree does not hold: FILES,
// ENVIRONMENT and EXIT STATUS of mac-nmguard(1), and the policy file's own
// page in section 5, built around the shipped, commented policy.toml.

import (
	_ "embed"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// policyManName is the name of the policy file's page (section 5).
const policyManName = "mac-nmguard.toml"

// shippedPolicy is the commented default policy that `make install` and the
// Debian package put in /etc/mac-nmguard/policy.toml: it documents every
// key, so its page shows it as it is.
//
//go:embed dist/policy.toml
var shippedPolicy string

// manExtra is one extra section of a page: entries separated by blank
// lines, each a tag line and its text (writeManTagged).
type manExtra struct{ title, text string }

// manExtraSections are the sections a command's page has beyond those the
// command tree gives.
func manExtraSections(c *cobra.Command) []manExtra {
	switch c.CommandPath() {
	case "mac-nmguard":
		return []manExtra{
			{"COMMANDS", manCommandList(c)},
			{"FILES", `/etc/mac-nmguard/policy.toml
The policy: see mac-nmguard.toml(5).

/etc/mac-nmguard/policy.d/*.toml
Drop-ins, read after policy.toml in name order.

/var/lib/mac-nmguard/state.json
The service's state: the secret of the stable mode, the user's exemptions ("use the real address for this network"), addresses first seen on cards without a permanent address, the runtime spoofing switch. Written atomically; a corrupt file is moved aside.

/usr/lib/NetworkManager/conf.d/90-mac-nmguard.conf
Keeps new Ethernet and Wi-Fi cards unmanaged by NetworkManager until the service has guarded them.

/usr/share/dbus-1/system.d/io.github.macnmguard.Guard1.conf
Who may own the service's name and call it on the system bus.

/usr/share/polkit-1/actions/io.github.macnmguard.policy
What polkit asks of a caller before each change.

/etc/xdg/autostart/mac-nmguard-agent.desktop
Starts the desktop agent in every graphical session.`},
			{"ENVIRONMENT", `DBUS_SYSTEM_BUS_ADDRESS
The system bus (default: the standard system socket).

DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR
The session bus of the desktop agent (default: $XDG_RUNTIME_DIR/bus).

NO_COLOR
When set, check never colours its output.

NOTIFY_SOCKET
Set by systemd: the service reports readiness there.

GOGC
The service's garbage collector target (default 50).

SOURCE_DATE_EPOCH
The date written into generated man pages.`},
			{"EXIT STATUS", `0
Success; for check: every device complies and nothing was found.

1
For check: a violation or a finding. For the other commands: the request was refused or failed (the reason is on standard error).

2
Could not do it: bad arguments, or (check) NetworkManager, the bus or netlink could not be read.`},
		}
	case "mac-nmguard run":
		return []manExtra{
			{"SIGNALS", `SIGHUP
Reload the policy; an invalid policy keeps the last good one and names file:line:column.

SIGUSR1
Log goroutines and memory, write heap.pprof and goroutines.txt into the state directory.

SIGTERM, SIGINT
Stop. The kernel backstop stays in place (mac-nmguard release removes it).`},
		}
	}
	return nil
}

// manCommandList lists the commands below root with their one-line
// summaries.
func manCommandList(root *cobra.Command) string {
	var b strings.Builder
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range manChildren(c) {
			if sub.Runnable() {
				fmt.Fprintf(&b, "%s\n%s.\n\n", sub.CommandPath(), sub.Short)
			}
			walk(sub)
		}
	}
	walk(root)
	return strings.TrimRight(b.String(), "\n")
}

// writePolicyManPage writes mac-nmguard.toml(5).
func writePolicyManPage(w io.Writer, h manHeader) {
	fmt.Fprintf(w, ".TH %s \"5\" %s %s %s\n.nh\n", manQuote(strings.ToUpper(policyManName)),
		manQuote(h.Date.Format("Jan 2006")), manQuote(h.Source), manQuote(h.Manual))
	fmt.Fprintf(w, ".SH NAME\n%s \\- the MAC address policy of mac-nmguard\n", manEscape(policyManName))
	fmt.Fprintf(w, ".SH SYNOPSIS\n/etc/mac\\-nmguard/policy.toml\n.br\n/etc/mac\\-nmguard/policy.d/*.toml\n")
	fmt.Fprintf(w, ".SH DESCRIPTION\n")
	writeManText(w, `The policy says which network card (MAC) address each device may use: a private one (the default) or the real one, per device and per network. It is TOML. The service reads policy.toml, then the drop-ins of policy.d in name order, at start and on reload (systemctl reload mac-nmguard); a later file overrides the settings it sets and adds its rules after the earlier ones.

With no file at all, or one that cannot be read, the built-in default applies: every device uses a private address (mode "keep-vendor") and anything else is refused. An invalid file is an error naming file:line:column; at reload the service keeps the last good policy.

Check a change before reloading with mac-nmguard policy validate, and see what is in effect with mac-nmguard policy show.`)
	fmt.Fprintf(w, ".SH PRECEDENCE\n")
	writeManText(w, `The user's exemptions ("use the real address for this network") win over network rules, network rules over device rules, device rules over [default]; among rules of one kind the last match wins. spoof = false makes every mode except "ignore" "permanent".`)
	fmt.Fprintf(w, ".SH THE SHIPPED FILE\n")
	writeManText(w, "Every key, with its meaning, as /etc/mac-nmguard/policy.toml is shipped (the values are the built-in defaults):")
	fmt.Fprintf(w, ".PP\n.nf\n.RS\n")
	for _, line := range strings.Split(strings.TrimRight(shippedPolicy, "\n"), "\n") {
		fmt.Fprintf(w, "%s\n", manLine(line))
	}
	fmt.Fprintf(w, ".RE\n.fi\n")
	fmt.Fprintf(w, ".SH SEE ALSO\n\\fBmac\\-nmguard\\fR(1), \\fBmac\\-nmguard\\-policy\\-validate\\fR(1), \\fBmac\\-nmguard\\-run\\fR(8)\n")
}
