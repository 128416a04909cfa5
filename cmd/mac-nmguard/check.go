// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
)

func init() { subcommands = append(subcommands, newCheckCmd) }

// checkOptions are check's own flags.
type checkOptions struct {
	json       bool
	nmConf     string
	nmConfDirs []string
	btConf     string
}

func newCheckCmd(opts *globalOptions) *cobra.Command {
	co := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [IFACE...]",
		Short: "Explain what the guard decides for every device, and audit NetworkManager",
		Long: `Show every network device (or only IFACE...): its current and real address,
where the real address comes from, the active connection, the policy mode and
rule that apply, the verdict and why, and what the gate does about it. Audit
NetworkManager's profiles and configuration for settings that give the machine
away whatever its MAC address. When the service runs, add its view.

check reads NetworkManager over the system bus (DBUS_SYSTEM_BUS_ADDRESS), the
kernel over netlink and nftables, the policy files and the service's state
file; it changes nothing. An invalid policy is a finding: check then evaluates
with the built-in default.

Exit status: 0 everything complies, 1 a violation or a finding, 2 could not
check (NetworkManager or the kernel could not be read; what could be read is
still shown).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd, opts, co, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&co.json, "json", false, "print the report as JSON (the format is documented in README.md)")
	f.StringVar(&co.nmConf, "nm-conf", inspect.DefaultNMConfFile, "NetworkManager's main configuration file")
	f.StringArrayVar(&co.nmConfDirs, "nm-conf-dir", inspect.DefaultNMConfDirs(), "NetworkManager's conf.d directories, lowest precedence first (repeat the flag; replaces the defaults)")
	f.StringVar(&co.btConf, "bluetooth-conf", inspect.DefaultBluetoothConf, "BlueZ's main configuration file (its Privacy setting)")
	return cmd
}

func runCheck(cmd *cobra.Command, opts *globalOptions, co *checkOptions, ifaces []string) error {
	rep, err := inspect.Inspect(cmd.Context(), inspect.InspectOptions{
		PolicyFile:    opts.policyFile,
		PolicyDir:     opts.policyDir,
		StatePath:     filepath.Join(opts.stateDir, "state.json"),
		BootStatePath: filepath.Join(opts.runtimeDir, "boot.json"),
		BootIDPath:    bootIDPath,
		NMConfFile:    co.nmConf,
		NMConfDirs:    co.nmConfDirs,
		BluetoothConf: co.btConf,
		Interfaces:    ifaces,
	})
	if err != nil {
		return &exitError{code: inspect.CheckExitNoCheck, err: err}
	}
	out := cmd.OutOrStdout()
	if co.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else if err := writeCheckText(out, rep, useColour(out)); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return checkExit(rep)
}

// checkExit turns the report's exit code into the command's error; the
// message goes to stderr.
func checkExit(rep inspect.CheckReport) error {
	switch rep.ExitCode {
	case inspect.CheckExitCompliant:
		return nil
	case inspect.CheckExitNoCheck:
		var why []string
		if rep.NM.Error != "" {
			why = append(why, rep.NM.Error)
		}
		if rep.Kernel.Error != "" {
			why = append(why, "kernel: "+rep.Kernel.Error)
		}
		return &exitError{code: inspect.CheckExitNoCheck, err: errors.New("could not check: " + strings.Join(why, "; ") + " (shown: what could be read)")}
	}
	v, f := 0, 0
	for _, x := range rep.Findings {
		switch x.Severity {
		case inspect.SeverityViolation:
			v++
		case inspect.SeverityFinding:
			f++
		}
	}
	return &exitError{code: inspect.CheckExitFindings, err: fmt.Errorf("%d violation(s), %d finding(s)", v, f)}
}

// useColour reports whether w is a terminal and NO_COLOR is not set.
func useColour(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// ANSI colours for the text report.
const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

// painter colours text when enabled.
type painter bool

func (p painter) paint(colour, s string) string {
	if !p {
		return s
	}
	return colour + s + ansiReset
}

func (p painter) verdict(v string) string {
	switch v {
	case inspect.VerdictViolation:
		return p.paint(ansiRed, v)
	case inspect.VerdictCompliant:
		return p.paint(ansiGreen, v)
	}
	return v
}

func (p painter) severity(s string) string {
	switch s {
	case inspect.SeverityViolation:
		return p.paint(ansiRed, strings.ToUpper(s))
	case inspect.SeverityFinding:
		return p.paint(ansiYellow, strings.ToUpper(s))
	}
	return strings.ToUpper(s)
}

func dash(s string) string {
	if s == "" {
		return "--"
	}
	return s
}

// errWriter keeps the first write error, so the report code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// writeCheckText writes the report for people: a summary, the devices
// aligned like nmcli (colour only in the last column, so alignment holds),
// then each device's details, the service's view and the findings.
func writeCheckText(w io.Writer, r inspect.CheckReport, colour bool) error {
	r = sanitized(r) // names come from outside: nothing raw reaches the terminal
	p := painter(colour)
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew.w, 0, 0, 2, ' ', 0)
	kv := &errWriter{w: tw}

	pol := "built-in default (spoof every device, keep-vendor, refuse)"
	if len(r.Policy.Sources) > 0 && !r.Policy.BuiltinDefault {
		pol = strings.Join(r.Policy.Sources, ", ")
	}
	if r.Policy.Error != "" {
		pol = "INVALID, using the built-in default: " + r.Policy.Error
	}
	kv.printf("Policy:\t%s\n", pol)
	spoof := "on"
	if !r.Policy.Spoof {
		spoof = "off (every guarded device keeps its real address)"
	}
	if r.Policy.SpoofOverride != nil {
		spoof += " (decided in this boot)"
	}
	kv.printf("Spoofing:\t%s\n", spoof)
	nm := "running, version " + r.NM.Version
	if !r.NM.Running {
		nm = "NOT READ: " + r.NM.Error
	}
	kv.printf("NetworkManager:\t%s\n", nm)
	if r.Kernel.Error != "" {
		kv.printf("Kernel:\tNOT READ: %s\n", r.Kernel.Error)
	}
	svc := "not running"
	if r.Service.Running {
		svc = "running"
		if st := r.Service.Status; st != nil {
			svc += fmt.Sprintf(", version %s", st.Version)
			if st.Held {
				svc += ", holding every device until the user decides"
			}
		}
	}
	if r.Service.Error != "" {
		svc += " (" + r.Service.Error + ")"
	}
	kv.printf("Service:\t%s\n", svc)
	kv.printf("\n")
	kv.printf("DEVICE\tTYPE\tSTATE\tADDRESS\tREAL\tCONNECTION\tMODE\tBACKSTOP\tVERDICT\n")
	for _, d := range r.Devices {
		kv.printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Interface, dash(d.NMType), dash(d.NMState), d.Address,
			dash(d.Real), dash(d.Connection), d.Mode, d.Backstop, p.verdict(d.Verdict))
	}
	if kv.err != nil {
		return kv.err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range r.Devices {
		ew.printf("\n%s\n", p.paint(ansiBold, d.Interface))
		tw = tabwriter.NewWriter(ew.w, 0, 0, 2, ' ', 0)
		kv = &errWriter{w: tw}
		kv.printf("  real address:\t%s (%s)\n", dash(d.Real), d.RealSource)
		if d.Connection != "" {
			net := d.Connection + " " + d.UUID
			if d.SSID != "" {
				net += fmt.Sprintf(" (SSID %q)", d.SSID)
			}
			kv.printf("  connection:\t%s\n", net)
		}
		exempt := ""
		if d.Exempt {
			exempt = " (exempt: the user allowed the real address)"
		}
		kv.printf("  mode:\t%s, enforcement %s%s\n", d.Mode, d.Enforcement, exempt)
		kv.printf("  rule:\t%s\n", d.Rule)
		kv.printf("  verdict:\t%s: %s\n", p.verdict(d.Verdict), d.Reason)
		kv.printf("  gate:\t%s\n", d.Gate)
		if d.ServiceGate != "" {
			kv.printf("  service gate state:\t%s\n", d.ServiceGate)
		}
		kv.printf("  backstop:\t%s, %d frame(s) dropped\n", d.Backstop, d.Dropped)
		if len(d.IPv6) > 0 {
			kv.printf("  ipv6:\t%s\n", strings.Join(d.IPv6, ", "))
		}
		for _, st := range []string{inspect.IdentSent, inspect.IdentHidden} {
			var ids []string
			for _, ci := range d.Identifiers {
				if ci.State == st {
					v := ci.Value
					if v == "" {
						v = "default"
					}
					ids = append(ids, fmt.Sprintf("%s=%s (%s)", ci.Property, v, ci.From))
				}
			}
			if len(ids) > 0 {
				kv.printf("  identifiers %s:\t%s\n", st, strings.Join(ids, ", "))
			}
		}
		if kv.err != nil {
			return kv.err
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if st := r.Service.Status; st != nil {
		if len(st.Exemptions) > 0 {
			ew.printf("\nExemptions (the user allowed the real address):\n")
			for _, e := range st.Exemptions {
				ew.printf("  %s uuid=%s ssid=%q device=%s\n", e.Scope, dash(e.UUID), e.SSID, dash(e.Interface))
			}
		}
		if len(st.Violations) > 0 {
			ew.printf("\nRecent violations (the service's log):\n")
			for _, v := range st.Violations {
				ew.printf("  %s  %s  %s  %s: %s\n", v.Time.Format("2006-01-02 15:04:05"), v.Device, v.Address, v.Action, v.Reason)
			}
		}
	}
	if len(r.Findings) == 0 {
		ew.printf("\n%s\n", p.paint(ansiGreen, "No findings: every device complies."))
		return ew.err
	}
	ew.printf("\nFindings:\n")
	for _, f := range r.Findings {
		ew.printf("  %s [%s] %s\n", p.severity(f.Severity), f.Kind, f.Message)
		if f.Fix != "" {
			ew.printf("      fix: %s\n", f.Fix)
		}
	}
	return ew.err
}
