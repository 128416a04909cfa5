// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"

	"github.com/mac-nmguard/mac-nmguard/nmhook"
	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
)

func init() { subcommands = append(subcommands, newRunCmd, newReleaseCmd) }

func newRunCmd(opts *globalOptions) *cobra.Command {
	var level, cmdline, nmConf, bootIDFile string
	var nmConfDirs []string
	var jsonLog bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the service: guard every network device (as root)",
		Long: `Run the system service. It guards every device in the kernel first
(nftables egress backstop, compliant addresses at hotplug and at rest), then
follows NetworkManager over D-Bus and refuses or remediates any activation
whose address breaks the policy. A profile without a cloned-mac-address of
its own is judged with NetworkManager.conf's default (--nm-conf,
--nm-conf-dir, as check reads them). SIGHUP reloads the policy (an invalid
file keeps the last good policy) and NetworkManager's configuration; SIGTERM stops the service and leaves the kernel
backstop in place (mac-nmguard release removes it). SIGUSR1 logs the
process's goroutines and memory and writes a heap profile to
STATE-DIR/heap.pprof (for long-run checks).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(os.Stderr, level, jsonLog)
			if err != nil {
				return err
			}
			serviceGC()
			links, err := links.New()
			if err != nil {
				return fmt.Errorf("netlink: %w", err)
			}
			backstop, err := backstop.New()
			if err != nil {
				return fmt.Errorf("nftables: %w", err)
			}
			svc, err := nmhook.New(nmhook.Config{
				PolicyFile:    opts.policyFile,
				PolicyDir:     opts.policyDir,
				StatePath:     filepath.Join(opts.stateDir, "state.json"),
				BootStatePath: filepath.Join(opts.runtimeDir, "boot.json"),
				Links:         links,
				Backstop:      backstop,
				Log:           log,
				Version:       version,
				CmdlinePath:   cmdline,
				NMConfFile:    nmConf,
				NMConfDirs:    nmConfDirs,
				BootIDPath:    bootIDFile,
				Ready: func() {
					if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
						log.Warn("sd_notify failed", slog.String("error", err.Error()))
					}
				},
			})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			usr1 := make(chan os.Signal, 1)
			signal.Notify(usr1, syscall.SIGUSR1)
			defer signal.Stop(usr1)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						if err := svc.Reload(ctx); err != nil {
							log.Error("SIGHUP: policy not reloaded", slog.String("error", err.Error()))
						}
					case <-usr1:
						logRuntimeStats(log, filepath.Join(opts.stateDir, "heap.pprof"))
					}
				}
			}()
			return svc.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&level, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().BoolVar(&jsonLog, "log-json", false, "log as JSON lines")
	cmd.Flags().StringVar(&nmConf, "nm-conf", inspect.DefaultNMConfFile, "NetworkManager's main configuration file")
	cmd.Flags().StringArrayVar(&nmConfDirs, "nm-conf-dir", inspect.DefaultNMConfDirs(), "NetworkManager's conf.d directories, lowest precedence first (repeat the flag; replaces the defaults)")
	cmd.Flags().StringVar(&cmdline, "kernel-cmdline", "/proc/cmdline", "file with the kernel command line (mac-nmguard.hold=1, mac-nmguard.spoof=0|1)")
	// Tests simulate a new boot with another boot id.
	cmd.Flags().StringVar(&bootIDFile, "boot-id-file", bootIDPath, "file identifying the boot")
	_ = cmd.Flags().MarkHidden("boot-id-file")
	return cmd
}

func newReleaseCmd(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "release",
		Short: "Remove the kernel backstop (every nftables rule the service installed)",
		Long: `Remove the nftables table that drops frames carrying real addresses.
The backstop outlives the service on purpose; run this only when the service
is stopped for good (uninstall), since it lifts the last layer of protection.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := backstop.New()
			if err != nil {
				return fmt.Errorf("nftables: %w", err)
			}
			if err := b.RemoveAll(); err != nil {
				return fmt.Errorf("release backstop: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "backstop removed")
			return err
		},
	}
}

// serviceGCPercent is the service's GOGC. Its live heap is about 1 MB, so
// the default (100, with a 4 MB floor) let the heap and what the runtime
// keeps of it reach about 5 MB; 50 halves that floor for GC work that is
// small on a heap this size. GOGC in the environment still decides.
const serviceGCPercent = 50

// serviceGC applies serviceGCPercent unless GOGC is set.
func serviceGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serviceGCPercent)
	}
}

// logRuntimeStats logs goroutines and memory: SIGUSR1, for soak tests and
// operators checking that a long-running service does not grow.
// A GC runs first, so heap_alloc and the profile are the live heap, not
// whatever garbage the last cycle left.
func logRuntimeStats(log *slog.Logger, heapFile string) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if f, err := os.OpenFile(heapFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		if err := pprof.WriteHeapProfile(f); err != nil {
			log.Warn("stats: heap profile not written", slog.String("error", err.Error()))
		}
		f.Close()
	}
	goFile := filepath.Join(filepath.Dir(heapFile), "goroutines.txt")
	if f, err := os.OpenFile(goFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		if err := pprof.Lookup("goroutine").WriteTo(f, 2); err != nil {
			log.Warn("stats: goroutine dump not written", slog.String("error", err.Error()))
		}
		f.Close()
	}
	log.Info("stats", slog.Int("goroutines", runtime.NumGoroutine()),
		slog.Uint64("heap_alloc", m.HeapAlloc), slog.Uint64("heap_inuse", m.HeapInuse),
		slog.Uint64("heap_objects", m.HeapObjects), slog.Uint64("heap_idle", m.HeapIdle), slog.Uint64("heap_released", m.HeapReleased),
		slog.Uint64("stack_sys", m.StackSys), slog.Uint64("sys", m.Sys), slog.Uint64("gc", uint64(m.NumGC)))
}
