// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// RecordEnv makes TestIntegrationRecordTraces write the trace files
// (`make traces`); without it the test compares the live NM with them.
const RecordEnv = "MAC_NMGUARD_RECORD_TRACES"

// tracesDir holds the recorded traces that detect replays.
const tracesDir = "../detect/testdata/traces"

// spoofedMAC is the address the traces' devices use instead of their real
// one (bed.DeviceMAC(0)): the same vendor prefix, other device bytes, as
// mac-nmguard's keep-vendor mode makes.
var spoofedMAC = net.HardwareAddr{0x00, 0x1b, 0x21, 0x5c, 0x3a, 0x91}

// traceScenario is one recorded scenario: run drives the bed and returns
// once the last expected event is recorded.
type traceScenario struct {
	name  string
	notes string
	tools []string
	run   func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device)
}

func traceScenarios() []traceScenario {
	return []traceScenario{{
		name:  "dhcp-success",
		notes: "wired, spoofed address (ip link set before activation), open DHCP: activated",
		tools: []string{"dnsmasq"},
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			b.StartDHCP(t, nil)
			uuid := b.AddProfile(t, bed.Profile{Name: "trace-dhcp", Interface: d.Name, DHCPTimeout: 10})
			if err := b.Activate(t, uuid, d.Name); err != nil {
				t.Fatalf("activate: %v", err)
			}
			rec.Wait(t, 10*time.Second, bed.Is(detect.StateActivated, -1, -1))
		},
	}, {
		name: "dhcp-allowlist",
		notes: "wired, spoofed address, dnsmasq answers only the real address (allow-list): " +
			"autoconnect with autoconnect-retries 3, ipv4.dhcp-timeout 3: three 120<-70 reason 5 failures, then NM gives up",
		tools: []string{"dnsmasq"},
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			b.StartDHCP(t, []net.HardwareAddr{d.MAC})
			b.AddProfile(t, bed.Profile{Name: "trace-allowlist", Interface: d.Name, DHCPTimeout: 3,
				Autoconnect: true, AutoconnectRetries: 3})
			rec.WaitCount(t, 3, 30*time.Second, bed.Is(detect.StateDisconnected, int(detect.StateFailed), -1))
		},
	}, {
		name: "8021x-wrong-password",
		notes: "wired 802.1X (hostapd EAP-MD5), spoofed address, wrong stored password, 802-1x.auth-timeout 3, " +
			"default auth-retries, a secret agent (nmcli --ask) answering a wrong password each time NM asks again: " +
			"NEED_AUTH rounds, then 120 reason 7",
		tools: []string{"hostapd", "wpa_supplicant"},
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			b.Start8021X(t)
			uuid := b.AddProfile(t, bed.Profile{Name: "trace-8021x-wrong", Interface: d.Name, DHCPTimeout: 5,
				EAP: &bed.EAP{Password: "wrongpass", AuthTimeout: 3}})
			agentAnswers(t, b, uuid, d.Name, 6)
			rec.Wait(t, 60*time.Second, bed.Is(detect.StateDisconnected, int(detect.StateFailed), -1))
		},
	}, {
		name: "8021x-endless-prompt",
		notes: "wired 802.1X, spoofed address, connection.auth-retries 0 (endless), 802-1x.auth-timeout 3, " +
			"agent-owned password (flags 2), a secret agent (nmcli --ask) answering 4 wrong passwords, " +
			"then going away: 120<-60 reason 7",
		tools: []string{"hostapd", "wpa_supplicant"},
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			b.Start8021X(t)
			uuid := b.AddProfile(t, bed.Profile{Name: "trace-8021x-endless", Interface: d.Name, DHCPTimeout: 5,
				AuthRetries: bed.RetriesUnlimited, EAP: &bed.EAP{PasswordFlags: 2, AuthTimeout: 3}})
			agentAnswers(t, b, uuid, d.Name, 4)
			rec.Wait(t, 60*time.Second, bed.Is(detect.StateDisconnected, int(detect.StateFailed), -1))
		},
	}, {
		name:  "8021x-success",
		notes: "wired 802.1X (EAP-MD5), spoofed address, right stored password, open DHCP: one NEED_AUTH, then activated",
		tools: []string{"hostapd", "wpa_supplicant", "dnsmasq"},
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			b.Start8021X(t)
			b.StartDHCP(t, nil)
			uuid := b.AddProfile(t, bed.Profile{Name: "trace-8021x-ok", Interface: d.Name, DHCPTimeout: 10,
				EAP: &bed.EAP{AuthTimeout: 10}})
			if err := b.Activate(t, uuid, d.Name); err != nil {
				t.Fatalf("activate: %v", err)
			}
			rec.Wait(t, 10*time.Second, bed.Is(detect.StateActivated, -1, -1))
		},
	}, {
		name:  "carrier-loss",
		notes: "wired, spoofed address, activated over DHCP, then the peer end goes down (cable pulled) and up again",
		tools: []string{"dnsmasq"},
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			b.StartDHCP(t, nil)
			uuid := b.AddProfile(t, bed.Profile{Name: "trace-carrier", Interface: d.Name, DHCPTimeout: 10})
			if err := b.Activate(t, uuid, d.Name); err != nil {
				t.Fatalf("activate: %v", err)
			}
			rec.Wait(t, 10*time.Second, bed.Is(detect.StateActivated, -1, -1))
			b.SetCarrier(t, d.Name, false)
			rec.Wait(t, 20*time.Second, bed.Is(detect.StateUnavailable, -1, -1))
			b.SetCarrier(t, d.Name, true)
			rec.Wait(t, 10*time.Second, bed.Is(detect.StateDisconnected, int(detect.StateUnavailable), -1))
		},
	}, {
		name:  "user-disconnect",
		notes: "wired, spoofed address, activated over DHCP, then nmcli connection down",
		tools: []string{"dnsmasq"},
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			b.StartDHCP(t, nil)
			uuid := b.AddProfile(t, bed.Profile{Name: "trace-down", Interface: d.Name, DHCPTimeout: 10})
			if err := b.Activate(t, uuid, d.Name); err != nil {
				t.Fatalf("activate: %v", err)
			}
			if err := b.Deactivate(t, uuid); err != nil {
				t.Fatalf("deactivate: %v", err)
			}
			rec.Wait(t, 10*time.Second, bed.Is(detect.StateDisconnected, int(detect.StateDeactivating), -1))
		},
	}, {
		name:  "dhcp-down-real-address",
		notes: "wired, the device on its real address, no DHCP server, ipv4.dhcp-timeout 3: 120<-70 reason 5 once",
		run: func(t *testing.T, b *bed.Bed, rec *bed.Recorder, d bed.Device) {
			uuid := b.AddProfile(t, bed.Profile{Name: "trace-nodhcp", Interface: d.Name, DHCPTimeout: 3})
			if err := b.Activate(t, uuid, d.Name); err == nil {
				t.Fatal("activation without a DHCP server succeeded")
			}
			rec.Wait(t, 10*time.Second, bed.Is(detect.StateDisconnected, int(detect.StateFailed), -1))
		},
	}}
}

// agentAnswers activates uuid with `nmcli --ask` as the secret agent,
// answering rounds wrong passwords (each round: keep the pre-filled
// identity, then the password) and then end of input. It returns when nmcli
// exits (the activation failed or succeeded).
func agentAnswers(t *testing.T, b *bed.Bed, uuid, iface string, rounds int) {
	t.Helper()
	var in strings.Builder
	for i := range rounds {
		fmt.Fprintf(&in, "\nwrong%d\n", i)
	}
	out, err := b.NmcliInput(t, strings.NewReader(in.String()), "--ask", "--wait", "120", "connection", "up", "uuid", uuid, "ifname", iface)
	if err != nil {
		t.Logf("nmcli --ask ended: %v", err) // the error carries the output
	} else {
		t.Logf("nmcli --ask:\n%s", out)
	}
}

// TestIntegrationRecordTraces records every scenario against the live NM.
// With MAC_NMGUARD_RECORD_TRACES=1 it writes detect/testdata/traces/*.jsonl;
// otherwise it fails when the (state, old, reason) sequence differs from the
// stored trace, showing the stored traces still match NetworkManager.
func TestIntegrationRecordTraces(t *testing.T) {
	bed.Require(t, "dnsmasq", "hostapd", "wpa_supplicant")
	record := os.Getenv(RecordEnv) == "1"
	for _, sc := range traceScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			b := bed.New(t, bed.Options{Devices: 1})
			d := b.Devices()[0]
			if sc.name != "dhcp-down-real-address" {
				b.SetAddress(t, d.Name, spoofedMAC)
			}
			rec := b.Recorder(t)
			sc.run(t, b, rec, d)
			time.Sleep(500 * time.Millisecond) // anything NM does right after the end is part of the trace
			rec.Stop()
			tr := detect.Trace{
				Header: detect.TraceHeader{Trace: sc.name, Source: "recorded", NMVersion: b.NMVersion(t),
					Notes: sc.notes + ". State changes only (HwAddress changes are folded into Address)."},
				Events: rec.Transitions(),
			}
			checkTraceEvents(t, tr, d)
			path := filepath.Join(tracesDir, sc.name+".jsonl")
			if record {
				var buf bytes.Buffer
				if err := detect.WriteTrace(&buf, tr); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s (%d events):\n%s", path, len(tr.Events), bed.FormatEvents(tr.Events))
				return
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("stored trace: %v (record it with `make traces`)", err)
			}
			defer f.Close()
			stored, err := detect.ReadTrace(f)
			if err != nil {
				t.Fatalf("stored trace %s: %v", path, err)
			}
			if got, want := stateSeq(tr.Events), stateSeq(stored.Events); got != want {
				t.Errorf("live NM differs from %s:\n got  %s\n want %s\nrecorded:\n%s", path, got, want, bed.FormatEvents(tr.Events))
			}
		})
	}
}

// checkTraceEvents checks the filled-in fields of a recorded trace.
func checkTraceEvents(t *testing.T, tr detect.Trace, d bed.Device) {
	t.Helper()
	if len(tr.Events) == 0 {
		t.Fatal("no events recorded")
	}
	if tr.Header.NMVersion == "" {
		t.Error("NM version unknown")
	}
	wantAddr, wantSpoofed := spoofedMAC.String(), true
	if tr.Header.Trace == "dhcp-down-real-address" {
		wantAddr, wantSpoofed = d.MAC.String(), false
	}
	for i, ev := range tr.Events {
		if ev.Device != d.Name || ev.Real != d.MAC.String() || ev.Address != wantAddr || ev.Spoofed != wantSpoofed {
			t.Errorf("event %d: device %s real %s address %s spoofed %v; want %s %s %s %v",
				i, ev.Device, ev.Real, ev.Address, ev.Spoofed, d.Name, d.MAC, wantAddr, wantSpoofed)
		}
		if ev.State >= detect.StatePrepare && (ev.Connection.UUID == "" || ev.Connection.ID == "") {
			t.Errorf("event %d (%d<-%d): no connection", i, ev.State, ev.Old)
		}
	}
}
