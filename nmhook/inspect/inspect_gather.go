// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// useTempaddrPath is the kernel's default for IPv6 temporary addresses in
// the current network namespace (NM's fallback for ipv6.ip6-privacy).
const useTempaddrPath = "/proc/sys/net/ipv6/conf/default/use_tempaddr"

// InspectOptions say where Inspect reads from.
type InspectOptions struct {
	PolicyFile string // main policy file
	PolicyDir  string // policy drop-in directory
	StatePath  string // the service's state file (read only)
	// BootStatePath is the service's per-boot file (read only), used only
	// when its boot id is the one in BootIDPath.
	BootStatePath string
	BootIDPath    string
	// NMConfFile and NMConfDirs are NetworkManager's configuration: the
	// main file and the conf.d directories, lowest precedence first
	// (DefaultNMConfFile, DefaultNMConfDirs()).
	NMConfFile string
	NMConfDirs []string
	// BluetoothConf is BlueZ's main.conf ("" = DefaultBluetoothConf).
	BluetoothConf string
	// Interfaces limits the report to these devices ([] = every device).
	Interfaces []string
	// Dial connects to the system bus; nil means the system bus named by
	// DBUS_SYSTEM_BUS_ADDRESS (or the default socket).
	Dial func() (*dbus.Conn, error)
}

// ErrUnknownInterface is wrapped by Inspect's error when an interface named
// in InspectOptions.Interfaces is known neither to the kernel nor to NM.
var ErrUnknownInterface = errors.New("unknown interface")

// Inspect gathers what `mac-nmguard check` reports: the kernel's devices
// (netlink) and backstop (nftables), NetworkManager's devices, profiles and
// configuration, the policy files, the service's state file and, when the
// service runs, its own view. It changes nothing. What could not be read
// is in the report (and makes ExitCode CheckExitNoCheck for NM and the
// kernel); the error is only for bad input: an interface that does not
// exist.
func Inspect(ctx context.Context, o InspectOptions) (CheckReport, error) {
	s := &inspectSnapshot{Now: time.Now().UTC(), Interfaces: o.Interfaces, StatePath: o.StatePath, BootStatePath: o.BootStatePath, UseTempaddr: -1}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); gatherKernel(s) }()
	go func() { defer wg.Done(); gatherBus(ctx, s, o.Dial) }()
	gatherFiles(s, o)
	wg.Wait()
	if err := checkInterfaces(s); err != nil {
		return CheckReport{}, err
	}
	return buildReport(s), nil
}

// checkInterfaces fails when a selected interface is unknown to both the
// kernel and NetworkManager (when both could be read).
func checkInterfaces(s *inspectSnapshot) error {
	if len(s.Interfaces) == 0 {
		return nil
	}
	known := map[string]bool{}
	for _, l := range s.Links {
		known[l.Name] = true
	}
	for _, d := range s.NMDevices {
		known[d.Interface] = true
	}
	var missing []string
	for _, n := range s.Interfaces {
		if !known[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 || (s.LinksErr != nil && s.NMErr != nil) {
		return nil
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("%w: %s (devices: %s)", ErrUnknownInterface, strings.Join(missing, ", "), strings.Join(names, ", "))
}

// gatherFiles reads the policy, the state file, NM's configuration and the
// kernel's IPv6 privacy default.
func gatherFiles(s *inspectSnapshot, o InspectOptions) {
	files, err := policy.ConfigFiles(o.PolicyFile, o.PolicyDir)
	if err != nil {
		s.PolicyErr = err
	} else {
		s.PolicySources = files
		s.Policy, s.PolicyErr = policy.LoadFiles(files...)
	}
	s.State, s.StateErr = readStateFile(o.StatePath)
	s.BootState, s.BootStale, s.BootStateErr = ReadBootStateFile(o.BootStatePath, state.BootID(o.BootIDPath))
	s.Conf, s.ConfErr = LoadNMConf(o.NMConfFile, o.NMConfDirs)
	btConf := o.BluetoothConf
	if btConf == "" {
		btConf = DefaultBluetoothConf
	}
	readBluetoothConf(&s.Bluetooth, btConf)
	readBluetoothSysfs(&s.Bluetooth)
	if data, err := os.ReadFile(useTempaddrPath); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			s.UseTempaddr = n
		}
	}
}

// readStateFile reads the service's state without changing it (LoadState
// moves a corrupt file aside; check must not). No file gives nil, nil.
func readStateFile(path string) (*state.State, error) {
	if path == "" {
		return nil, nil
	}
	data, err := readLimitedFile(path, 16<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	st := &state.State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("state %s is not valid JSON: %w", path, err)
	}
	if st.Version != state.Version {
		return nil, fmt.Errorf("state %s has format version %d, want %d", path, st.Version, state.Version)
	}
	return st, nil
}

// ReadBootStateFile reads the service's per-boot file without changing it.
// No file gives nil; a file of another boot (or when this boot's id is
// unknown) gives nil and stale.
func ReadBootStateFile(path, id string) (bs *state.BootState, stale bool, err error) {
	if path == "" {
		return nil, false, nil
	}
	data, err := readLimitedFile(path, 16<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read per-boot state %s: %w", path, err)
	}
	st := &state.BootState{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, false, fmt.Errorf("per-boot state %s is not valid JSON: %w", path, err)
	}
	if st.Version != state.BootVersion {
		return nil, false, fmt.Errorf("per-boot state %s has format version %d, want %d", path, st.Version, state.BootVersion)
	}
	if id == "" || st.BootID != id {
		return nil, true, nil
	}
	return st, false, nil
}

// gatherBus reads NetworkManager and the service over the system bus.
func gatherBus(ctx context.Context, s *inspectSnapshot, dial func() (*dbus.Conn, error)) {
	if dial == nil {
		dial = func() (*dbus.Conn, error) { return dbus.ConnectSystemBus() }
	}
	conn, err := dial()
	if err != nil {
		s.NMErr = fmt.Errorf("cannot connect to the system bus: %w", err)
		s.Service.Err = s.NMErr
		s.Bluetooth.BusErr = s.NMErr
		s.P2P.Err = s.NMErr
		if h, herr := os.Hostname(); herr == nil {
			s.Hostname, s.HostnameFrom = h, "system"
		}
		return
	}
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Service = readService(ctx, conn) }()
	go func() {
		defer wg.Done()
		readBluez(ctx, conn, &s.Bluetooth)
		s.P2P = readP2P(ctx, conn)
	}()
	readNM(ctx, s, nm.Client{Conn: conn})
	wg.Wait()
}

// readNM reads NetworkManager's devices, profiles and host name in bulk
// (readNMBulk), its one read path.
func readNM(ctx context.Context, s *inspectSnapshot, c nm.Client) {
	defer func() {
		if s.Hostname == "" {
			if h, err := os.Hostname(); err == nil {
				s.Hostname, s.HostnameFrom = h, "system"
			}
		}
	}()
	// Asked first: a call to a name without owner could start NM through
	// D-Bus activation, and check changes nothing.
	if !c.Running(ctx) {
		s.NMErr = errors.New("NetworkManager is not running (" + nm.BusName + " has no owner on the system bus)")
		return
	}
	readNMBulk(ctx, s, c)
}

// readService asks the service for its view, when its name has an owner.
func readService(ctx context.Context, conn *dbus.Conn) serviceView {
	var sv serviceView
	var owner string
	err := conn.BusObject().CallWithContext(ctx, nm.DBusName+".GetNameOwner", 0, api.BusName).Store(&owner)
	if err != nil {
		var de dbus.Error
		if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.NameHasNoOwner" {
			sv.Err = fmt.Errorf("ask the bus for %s: %w", api.BusName, err)
		}
		return sv
	}
	sv.Running = true
	obj := conn.Object(api.BusName, api.Path)
	get := func(method string, into any) error {
		cctx, cancel := context.WithTimeout(ctx, nm.CallTimeout)
		defer cancel()
		var js string
		if err := obj.CallWithContext(cctx, method, 0).Store(&js); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if err := json.Unmarshal([]byte(js), into); err != nil {
			return fmt.Errorf("%s: answer is not the documented JSON: %w", method, err)
		}
		return nil
	}
	var errs []error
	st := &api.Status{}
	if err := get(api.StatusMethod, st); err != nil {
		errs = append(errs, err)
	} else {
		sv.Status = st
	}
	if err := get(api.ListDevices, &sv.Devices); err != nil {
		errs = append(errs, err)
	}
	if err := get(api.ListSuspicions, &sv.Suspicions); err != nil {
		errs = append(errs, err)
	}
	sv.Err = errors.Join(errs...)
	return sv
}

// readProfiles reads every connection profile with what check judges of
// its settings.
func readProfiles(ctx context.Context, c nm.Client) ([]profileInfo, error) {
	all, err := c.AllSettings(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]profileInfo, len(all))
	for i, p := range all {
		out[i] = profileInfoFromSettings(p.Path, p.Settings)
	}
	return out, nil
}
