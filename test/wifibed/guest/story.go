// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// agentStory is issue 14's whole story on the simulated radios
// (wifibed.StoryScenario; what is real and what is not: ../story.go).
//
//  1. The service is restarted, as at a boot: it forgets the offers it
//     made earlier in this boot (at most one per network and hour, in its
//     memory only; restore-once already had one for "aclreal").
//  2. A desktop session of an unprivileged user starts (desktop.go): a
//     session bus, Xvfb, dunst, `mac-nmguard agent`.
//  3. "acl" (the network "aclreal": hostapd's allow-list admits only the
//     client's real address) refuses the private address; NetworkManager
//     gives up (at most two attempts, as its autoconnect retry would).
//  4. The service signals a suspicion; the agent shows the offer on dunst
//     (one, naming the network, with "this time", "always" and "keep").
//  5. The user picks "this time" from dunst's menu; the agent asks the
//     service, polkit authorises the user's active session.
//  6. "acl" connects with the real address and a DHCP lease; the agent
//     says so on dunst. NetworkManager's keyfiles are unchanged on disk.
//  7. After disconnecting, "cafe" connects with a private address.
//
// The real address may be on the air only between the click and the end
// of the restored connection (wifibed.RestoreOpen / RestoreClosed).
func agentStory(s *sc) error {
	s.g.service.stop(10 * time.Second)
	if err := s.g.runService(s.ctx); err != nil {
		return err
	}
	s.logf("service restarted (SIGTERM): no offer made yet")
	d, err := startDesktop(s)
	if err != nil {
		return fmt.Errorf("desktop: %w", err)
	}
	defer d.stop()
	s.logf("desktop of uid %d (session %s): session bus, Xvfb, dunst, agent", deskUID, deskSession)
	if n, err := d.displayed(s.ctx); err != nil || n != 0 {
		return fmt.Errorf("dunst shows %d notifications before anything happened (%v)", n, err)
	}
	if err := s.addProfile("cafe", "cafe"); err != nil {
		return err
	}
	if err := s.addProfile("acl", "aclreal"); err != nil {
		return err
	}
	time.Sleep(time.Second) // the service gives both their address in memory
	sums := keyfileSums()
	mark := len(d.agentLines())
	_, ns := s.g.rec.mark()
	for attempt := 1; attempt <= 2; attempt++ {
		if err := s.upFails("acl"); err != nil {
			return err
		}
		if _, sus := s.g.rec.since(0, ns); len(sus) > 0 {
			break
		}
	}
	if err := s.waitSuspicion(ns, 60*time.Second); err != nil {
		return err
	}
	offer, err := d.waitShown(s.ctx, mark, 30*time.Second, "may be refusing")
	if err != nil {
		return err
	}
	s.logf("%s: id %d, %q", wifibed.StoryOffer, offer.id, offer.summary)
	if !strings.Contains(offer.summary, "“acl”") && !strings.Contains(offer.summary, "“aclreal”") {
		return fmt.Errorf("the offer %q does not name the network", offer.summary)
	}
	// Only the offer is on screen: NetworkManager's scan address, set
	// when it ends the refused attempt, is not a violation (no "Network
	// card wlan0 was not connected" next to the offer).
	if n, err := d.displayed(s.ctx); err != nil || n != 1 {
		return fmt.Errorf("dunst shows %d notifications with the offer, want only the offer (%v; agent: %s)", n, err,
			strings.Join(d.agentLines()[mark:], "\n"))
	}

	s.logf("%s: the user picks \"this time\"", wifibed.RestoreOpen)
	t := time.Now()
	after := len(d.agentLines())
	menu, err := d.pick(s.ctx, offer.id, "restore")
	if err != nil {
		s.logf("%s", wifibed.RestoreClosed)
		return err
	}
	s.logf("dunst's menu: %s", strings.Join(strings.Fields(strings.ReplaceAll(menu, "\n", " | ")), " "))
	for _, key := range []string{"restore-always", "keep"} {
		if !strings.Contains(menu, fmt.Sprintf("[%d,%s]", offer.id, key)) {
			s.logf("%s", wifibed.RestoreClosed)
			return fmt.Errorf("dunst's menu has no %q choice", key)
		}
	}
	if _, err := d.waitAgent(s.ctx, after, 30*time.Second, "agent: user chose", "action=restore ", "device="+client); err != nil {
		s.logf("%s", wifibed.RestoreClosed)
		return err
	}
	// The agent's outcome: "Reconnecting to ... with the real address",
	// then "Connected to ... with the real address" or "Could not
	// reconnect to ...".
	done, err := d.waitShown(s.ctx, after, 120*time.Second, "onnect")
	for err == nil && !strings.HasPrefix(done.summary, "Connected to") {
		s.logf("agent: %q", done.summary)
		if strings.HasPrefix(done.summary, "Could not") {
			err = fmt.Errorf("the agent says %q", done.summary)
			break
		}
		done, err = d.waitShown(s.ctx, done.line+1, 120*time.Second, "onnect")
	}
	took := time.Since(t)
	if err != nil {
		s.logf("%s", wifibed.RestoreClosed)
		return fmt.Errorf("%w%s (agent: %s)", err, s.duplicateAssociation(), strings.Join(d.agentLines()[after:], "\n"))
	}
	s.logf("%s %.3f s: %q, %s, %s", wifibed.RestoreTook, took.Seconds(), done.summary, s.address(), s.ipv4())
	if err := waitFor(s.ctx, 30*time.Second, "acl connected with a lease", func() bool { return s.ipv4() != "" }); err != nil {
		s.logf("%s", wifibed.RestoreClosed)
		return err
	}
	conn, _ := s.nmcli("-g", "GENERAL.CONNECTION", "device", "show", client)
	if !strings.EqualFold(s.address(), s.g.res.Real) || strings.TrimSpace(conn) != "acl" {
		s.logf("%s", wifibed.RestoreClosed)
		return fmt.Errorf("after the choice: %s on %q with %s; want acl with the real address", client, strings.TrimSpace(conn), s.address())
	}
	if err := s.down(); err != nil {
		return err
	}
	time.Sleep(time.Second) // NetworkManager resets the card; the service makes acl private again
	s.logf("%s", wifibed.RestoreClosed)

	if err := s.upOK("cafe"); err != nil {
		return err
	}
	if err := s.private("cafe"); err != nil {
		return err
	}
	if err := s.down(); err != nil {
		return err
	}
	if err := sameSums(sums, keyfileSums()); err != nil {
		return err
	}
	offers := 0
	var others []string
	for _, n := range d.shownSince(mark) {
		s.logf("agent showed %d: %q", n.id, n.summary)
		switch {
		case strings.Contains(n.summary, "may be refusing"):
			offers++
		case n.id != offer.id:
			// Not the offer nor its outcome (which replaces it): a
			// violation notice, say.
			others = append(others, fmt.Sprintf("%q", n.summary))
		}
	}
	if offers != 1 || len(others) > 0 {
		return fmt.Errorf("%d offers shown, want 1; other notifications: %s", offers, strings.Join(others, ", "))
	}
	if !d.agentRunning() {
		return fmt.Errorf("the agent exited during the scenario")
	}
	return nil
}

// duplicateAssociation says, for a failed reconnection, whether hostapd
// saw the real address associate more than once without a new
// authentication: mac80211's association request sent again when the
// answer came late (an emulated CPU under load), which makes hostapd
// restart the 4-way handshake and drop the card. "" when it did not.
func (s *sc) duplicateAssociation() string {
	b, err := os.ReadFile(logPath("hostapd"))
	if err != nil {
		return ""
	}
	dup := repeatedAssociations(string(b))[strings.ToLower(s.g.res.Real)]
	if dup == 0 {
		return ""
	}
	return fmt.Sprintf(" (hostapd saw the real address associate again without authenticating %d time(s) in this boot: "+
		"a repeated association request of the emulated radio under load, see \"What hwsim cannot show\" in README.md)", dup)
}

// repeatedAssociations counts, per station address (lower case), the
// times hostapd's log says it associated again right after an
// association, with no authentication between: a repeated association
// request (the station's association retry), after which hostapd starts
// the 4-way handshake again.
func repeatedAssociations(log string) map[string]int {
	const marker = " IEEE 802.11: "
	dup := map[string]int{}
	prev := map[string]string{}
	for _, l := range strings.Split(log, "\n") {
		i := strings.Index(l, "STA ")
		j := strings.Index(l, marker)
		if i < 0 || j < i+4 {
			continue
		}
		sta := strings.ToLower(strings.TrimSpace(l[i+4 : j]))
		ev := l[j+len(marker):]
		if strings.HasPrefix(ev, "associated") && strings.HasPrefix(prev[sta], "associated") {
			dup[sta]++
		}
		prev[sta] = ev
	}
	return dup
}
