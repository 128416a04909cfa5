// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"testing"
	"time"
)

// fuzzEvents decodes data into operations: 4 bytes each. Byte 0 picks the
// device, the connection and whether the op is a Resolve; byte 1 the new
// state; byte 2 the reason; byte 3 the flags and the time step.
type fuzzOp struct {
	resolve bool
	ev      Event
}

// maxFuzzOps keeps each run cheap (and the fuzzer's minimisation quick).
const maxFuzzOps = 512

func fuzzOps(data []byte) []fuzzOp {
	if len(data) > 4*maxFuzzOps {
		data = data[:4*maxFuzzOps]
	}
	states := []uint32{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 77}
	reasons := []uint32{0, 0, 0, 5, 7, 8, 9, 10, 11, 39, 40, 3, 53}
	conns := []Connection{{}, {UUID: "a"}, {UUID: "b", SSID: "b"}, {ID: "only-id"}}
	devs := []string{"eth0", "wlan0"}
	now := t0()
	old := map[string]uint32{}
	var ops []fuzzOp
	for i := 0; i+4 <= len(data); i += 4 {
		b0, b1, b2, b3 := data[i], data[i+1], data[i+2], data[i+3]
		dev := devs[int(b0)%len(devs)]
		conn := conns[int(b0>>1)%len(conns)]
		// Time steps: mostly short, sometimes minutes, rarely backwards.
		switch b3 >> 5 {
		case 7:
			now = now.Add(time.Duration(b3&31) * time.Minute)
		case 6:
			now = now.Add(-time.Duration(b3&31) * time.Second)
		default:
			now = now.Add(time.Duration(b3&31) * 500 * time.Millisecond)
		}
		if b0&0xf0 == 0xf0 {
			ops = append(ops, fuzzOp{resolve: true, ev: Event{Device: dev, Connection: conn}})
			continue
		}
		st := states[int(b1)%len(states)]
		ev := Event{
			Time: now, Device: dev, Connection: conn,
			State: st, Old: old[dev], Reason: reasons[int(b2)%len(reasons)],
			Address: spoofMAC, Real: realMAC,
			Spoofed: b3&1 == 0, Exempt: b3&2 != 0, Carrier: b3&4 == 0,
		}
		if b2&0x80 != 0 { // sometimes the address equals the real one despite the flag
			ev.Address = realMAC
		}
		if b1&0x80 != 0 { // sometimes Old is arbitrary
			ev.Old = states[int(b2)%len(states)]
		}
		old[dev] = st
		ops = append(ops, fuzzOp{ev: ev})
	}
	return ops
}

func FuzzFeed(f *testing.F) {
	// Seeds: the shapes of the table tests, encoded.
	f.Add([]byte{2, 4, 0, 1, 2, 5, 0, 1, 2, 7, 0, 1, 2, 12, 3, 10, 2, 3, 0, 1, 2, 4, 0, 1, 2, 5, 0, 1, 2, 7, 0, 1, 2, 12, 3, 10})
	f.Add([]byte{2, 4, 0, 0, 2, 5, 0, 0, 2, 6, 0, 0, 2, 4, 0, 0, 2, 5, 0, 0, 2, 6, 0, 20, 2, 4, 0, 0, 2, 5, 0, 0, 2, 6, 0, 20, 2, 12, 4, 10})
	f.Add([]byte{3, 4, 0, 0, 3, 5, 0, 0, 3, 6, 0, 0, 3, 4, 0, 4, 3, 5, 0, 0, 3, 6, 5, 3, 3, 4, 0, 4, 3, 5, 0, 0, 3, 6, 5, 3, 3, 4, 0, 4, 3, 5, 0, 0, 3, 6, 5, 3})
	f.Add([]byte{2, 4, 0, 1, 2, 5, 0, 1, 2, 7, 0, 1, 2, 12, 3, 10, 0xf2, 0, 0, 0, 2, 4, 0, 1, 2, 5, 0, 1, 2, 7, 0, 1, 2, 12, 3, 10, 2, 10, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		cfg.AuthFailures = 1
		cfg.DHCPFailures = 1 // low thresholds so raises happen often
		d, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		open := map[string]bool{} // episode key -> a suspicion is open
		seen := map[string]bool{} // IDs raised
		for _, op := range fuzzOps(data) {
			ev := op.ev
			if op.resolve {
				d.Resolve(ev.Device, ev.Connection.UUID)
				open[episodeKey(ev.Device, connKey(Connection{UUID: ev.Connection.UUID}))] = false
				continue
			}
			sps := d.Feed(ev)
			if len(sps) > 1 {
				t.Fatalf("%d suspicions from one event", len(sps))
			}
			key := episodeKey(ev.Device, connKey(ev.Connection))
			if ev.State == StateActivated {
				if connKey(ev.Connection) == "" {
					for k := range open { // it went to the device's current episode
						if len(k) > len(ev.Device) && k[:len(ev.Device)+1] == ev.Device+"\x00" {
							open[k] = false
						}
					}
				}
				open[key] = false
			}
			for _, sp := range sps {
				if !ev.Spoofed || ev.Exempt || ev.Address == ev.Real {
					t.Fatalf("raised for an ineligible event %+v: %+v", ev, sp)
				}
				for _, e := range sp.Evidence {
					if !e.Spoofed || e.Exempt || e.Address == e.Real {
						t.Fatalf("ineligible evidence %+v", e)
					}
				}
				if seen[sp.ID] {
					t.Fatalf("ID %s raised twice", sp.ID)
				}
				seen[sp.ID] = true
				k := episodeKey(sp.Device, connKey(sp.Connection))
				if open[k] {
					t.Fatalf("second suspicion in one episode for %q: %+v", k, sp)
				}
				open[k] = true
			}
			if len(d.episodes) > maxEpisodes {
				t.Fatalf("%d episodes", len(d.episodes))
			}
		}
		ids := map[string]bool{}
		for _, p := range d.Pending() {
			if !seen[p.ID] || ids[p.ID] {
				t.Fatalf("pending %s never raised or listed twice", p.ID)
			}
			ids[p.ID] = true
		}
	})
}
