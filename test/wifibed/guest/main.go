// SPDX-License-Identifier: GPL-3.0-or-later

// Command guest is the Wi-Fi bed's runner inside the qemu guest (package
// wifibed): PID 1 after the initramfs's switch_root. It sets up the bed
// (udev, mac80211_hwsim radios, the system bus, hostapd access points,
// dnsmasq, wpa_supplicant, the service and NetworkManager), runs the
// scenarios of the plan in order, writes the results and the hwsim0 capture
// to the shared folder and powers the guest off. Everything it starts dies
// with the guest.
//
// In the systemd boot (Plan.Boot "systemd") it only prepares the overlay
// root (the project's .deb installed, units for the capture, the access
// points and itself) and executes systemd, which starts it again as a unit
// (`guest systemd-run`) once the system is up: see systemd.go.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == systemdRunArg {
		// Started by systemd's unit in the systemd boot (systemd.go).
		os.Exit(runUnderSystemd())
	}
	if len(os.Args) > 1 && os.Args[1] == sessionArg {
		// Started by a user's ~/.profile at login (session.go).
		os.Exit(runSession())
	}
	// Whatever happens, power off: qemu exits and the host reads what
	// was written.
	defer poweroff()
	res := &wifibed.Results{}
	g := &guest{res: res}
	defer func() {
		if r := recover(); r != nil {
			res.SetupErr = fmt.Sprintf("guest runner panicked: %v", r)
			g.writeResults()
		}
	}()
	mountErr := mountBase()
	res.Uptime = uptime()
	if mountErr != nil {
		res.SetupErr = mountErr.Error()
		g.writeResults()
		return
	}
	fmt.Printf("wifibed-guest: runner started at %.1f s\n", res.Uptime)
	plan, err := readPlan()
	if err != nil {
		res.SetupErr = err.Error()
		g.writeResults()
		return
	}
	if plan.Boot == wifibed.BootSystemd {
		err := g.bootSystemd() // returns only on failure
		res.SetupErr = fmt.Sprintf("systemd boot: %v", err)
		g.writeResults()
		return
	}
	if err := g.setup(); err != nil {
		res.SetupErr = err.Error()
		g.finish()
		return
	}
	res.ReadyAt = uptime()
	fmt.Printf("wifibed-guest: bed ready at %.1f s\n", res.ReadyAt)
	for _, name := range plan.Scenarios {
		res.Scenarios = append(res.Scenarios, g.runScenario(name, plan.ScenarioTimeout))
		g.writeResults() // a later hang keeps what is done
	}
	g.finish()
}

func readPlan() (wifibed.Plan, error) {
	var p wifibed.Plan
	b, err := os.ReadFile(filepath.Join(wifibed.GuestMount, wifibed.PlanFile))
	if err != nil {
		return p, fmt.Errorf("read plan: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("read plan: %w", err)
	}
	return p, nil
}

// finish stops the capture, copies it out and writes the results.
func (g *guest) finish() {
	g.stopCapture()
	g.writeResults()
	g.stopAll()
}

func (g *guest) writeResults() {
	b, err := json.MarshalIndent(g.res, "", " ")
	if err != nil {
		fmt.Println("wifibed-guest: results:", err)
		return
	}
	path := filepath.Join(wifibed.GuestMount, wifibed.ResultsFile)
	if err := os.WriteFile(path+".new", b, 0o644); err != nil {
		fmt.Println("wifibed-guest: results:", err)
		return
	}
	if err := os.Rename(path+".new", path); err != nil {
		fmt.Println("wifibed-guest: results:", err)
	}
}

func poweroff() {
	syscall.Sync()
	fmt.Println("wifibed-guest: power off")
	time.Sleep(100 * time.Millisecond)
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}

// uptime is the guest's uptime in seconds.
func uptime() float64 {
	b, err := os.ReadFile("/proc/uptime")
	if err == nil {
		var up float64
		if _, err := fmt.Sscanf(string(b), "%f", &up); err == nil {
			return up
		}
	}
	return 0
}
