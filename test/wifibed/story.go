// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"fmt"
	"strings"
	"time"
)

// StoryScenario is issue 14's whole story on the simulated radios, one
// scenario of the boot (guest/story.go): the allow-list network "aclreal"
// refuses the private address, the service raises a suspicion, the desktop
// agent's offer on dunst is answered "use the real address this time", the
// card reconnects with its real address and gets a DHCP lease, and every
// other network ("cafe", and every probe request of the scans) sees only
// private addresses.
//
// Real: the radios' 802.11 stack (mac80211 over mac80211_hwsim), hostapd's
// allow-list (macaddr_acl=1) and dnsmasq, wpa_supplicant, NetworkManager,
// `mac-nmguard run` and `mac-nmguard agent` (the binary built by the test),
// the session bus, Xvfb and dunst, polkitd (started by the system bus on
// the service's first question) with the project's action file, and the
// authorisation itself: the agent runs as an unprivileged user (uid 65534)
// and the service asks polkit about that caller's bus name; "this time" on
// a pending suspicion is io.github.macnmguard.restore, allowed for an
// active local session.
//
// Not real: the radio medium (hwsim delivers every frame; no driver or
// firmware of a real card, see README.md); the user's session is made by
// the scenario, not by a display manager and logind: a cgroup scope
// user.slice/user-65534.slice/session-c1.scope holding the desktop's
// programs and the files logind would write in /run/systemd (active,
// local, seat0), which is what polkit reads through sd-login; the "click"
// is dunst's context menu opened by `dunstctl context` (as a right click
// opens it) with a script in dmenu's place picking the entry "this time",
// not a pointer on the X screen; the connection attempts are `nmcli
// connection up` by root (NetworkManager runs with auth-polkit=false), not
// the user's applet; the service is restarted at the scenario's start, as
// at a boot, so that its hourly limit of one offer per network (kept in
// memory) does not hide the offer that an earlier scenario of the same
// boot already had for "aclreal".
//
// The host judges the capture: no frame with the real address as TA or
// SA outside the window from the pick to the end of the restored
// connection (RestoreOpen, RestoreClosed), and some inside it (the
// reconnection really went on the air with the real address).
const StoryScenario = "agent-story"

// StoryOffer marks the log line of the offer shown on dunst.
const StoryOffer = "offer on dunst"

// StoryOfferAfter is the time from the service's Suspicion signal to the
// agent's offer on dunst (false when either is missing).
func StoryOfferAfter(s Scenario) (time.Duration, bool) {
	if len(s.Suspicions) == 0 {
		return 0, false
	}
	for _, l := range s.Log {
		if !strings.Contains(l, StoryOffer) {
			continue
		}
		t, ok := logTime(s, l)
		if !ok {
			return 0, false
		}
		return t.Sub(s.Suspicions[0].Time), true
	}
	return 0, false
}

// storyProblems is what the capture and the signals say against the
// story (the guest checks the rest): one suspicion of kind auth-rejected
// about "acl", and frames with the real address inside the restore window
// (the reconnection used it on the air).
func storyProblems(r *Run, s Scenario) []string {
	var out []string
	if len(s.Suspicions) != 1 || s.Suspicions[0].Kind != "auth-rejected" {
		out = append(out, fmt.Sprintf("suspicions %+v, want one auth-rejected", s.Suspicions))
	}
	cl := r.Classifier()
	leaks := cl.Leaks(r.FramesOf(s))
	w := RestoreWindows(s, 500*time.Millisecond)
	inside := len(leaks) - len(OutsideWindows(leaks, w))
	if inside == 0 {
		out = append(out, "no frame with the real address inside the restore window: the card did not reconnect with it")
	}
	return out
}
