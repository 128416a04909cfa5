// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationDecisionsLastOneBoot: two boots of one machine, simulated
// by the boot id the service reads (--boot-id-file; the state and runtime
// directories are kept, the worst case). In the first boot `decide
// --no-spoof` puts the real address on and holds across a restart of the
// service; in the second the policy's spoof = true applies again, and the
// card with the same name and index there (another address: another card)
// is judged by its own first address, not the first boot's.
func TestIntegrationDecisionsLastOneBoot(t *testing.T) {
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	dev := b.Devices()[0]
	real := strings.ToLower(dev.MAC.String())
	g := newGuard(t, b)
	if err := os.WriteFile(filepath.Join(g.dir, "policy.toml"), []byte("spoof = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bootFile := filepath.Join(g.dir, "boot_id")
	newBoot := func(id string) {
		if err := os.WriteFile(bootFile, []byte(id+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stop := func() {
		t.Helper()
		if err := g.p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := g.p.Wait(10 * time.Second); err != nil {
			t.Fatalf("stop: %v", err)
		}
	}
	g.extra = []string{"--boot-id-file", bootFile}

	newBoot("boot-1")
	g.start(t)
	waitAddrNot(t, b, dev.Name, real, 10*time.Second)
	if out, err := cli(t, b, "decide", "--no-spoof"); err != nil {
		t.Fatalf("decide --no-spoof: %v: %s", err, out)
	}
	waitAddr(t, b, dev.Name, real, 10*time.Second)
	stop()
	g.start(t)
	g.waitLog(t, 10*time.Second, "policy: spoofing as decided earlier in this boot", "spoof=false")
	g.waitLog(t, 10*time.Second, "api: serving")
	if st := status(t, b); st.Spoof {
		t.Fatal("a restart in the same boot lost the decision")
	}
	stop()

	// The next boot: another card under the same name and index.
	newBoot("boot-2")
	other := net.HardwareAddr{0x00, 0x1b, 0x21, 0x77, 0x77, 0x77}
	ipClient(t, b, "link", "set", "dev", dev.Name, "address", other.String())
	g.start(t)
	waitAddrNot(t, b, dev.Name, other.String(), 10*time.Second)
	g.waitLog(t, 10*time.Second, "api: serving")
	if st := status(t, b); !st.Spoof {
		t.Fatal("the decision of the first boot holds in the second")
	}
	var devs []api.Device
	conn := b.Dial(t)
	defer conn.Close()
	var data string
	if err := conn.Object(api.BusName, api.Path).Call(api.ListDevices, 0).Store(&data); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(data), &devs); err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Interface == dev.Name && d.Real != other.String() {
			t.Fatalf("second boot: the service takes %s's real address for %s (source %s), want this boot's first address %s", dev.Name, d.Real, d.RealSource, other)
		}
	}
	if addr := linkAddr(t, b, dev.Name); addr == real {
		t.Fatalf("second boot: %s carries the first boot's real address", dev.Name)
	}
}

// waitAddr waits until dev's address is want.
func waitAddr(t testing.TB, b *bed.Bed, dev, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := linkAddr(t, b, dev); got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %s after %s, want %s", dev, linkAddr(t, b, dev), timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
