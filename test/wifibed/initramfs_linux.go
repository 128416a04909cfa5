// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// initModules are the modules the initramfs loads (with their
// dependencies, from modules.dep) to mount the 9p root and the overlay.
// Those built into the kernel are skipped.
var initModules = []string{"virtio_pci", "9pnet_virtio", "9p", "overlay"}

// initScript is the initramfs's /init: load the modules, mount the host's
// root read-only over 9p with a tmpfs overlay on top, mount the writable
// share, and switch_root into the guest runner. On any failure it says so
// on the console and powers off (qemu exits).
const initScript = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fail() { echo "wifibed-init: $*"; sync; poweroff -f; }
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/modules/$m" || fail "insmod $m"
done < /modules/order
mkdir -p /ro /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /ro || fail "mount hostroot"
mount -t tmpfs -o mode=755 rw /rw || fail "mount tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "mount overlay"
mkdir -p /newroot` + GuestMount + `
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /newroot` + GuestMount + ` || fail "mount share"
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot ` + GuestMount + `/` + GuestBinary + `
`

// Kernel is a kernel image and its modules directory.
type Kernel struct {
	Image   string // /boot/vmlinuz-VERSION
	Modules string // /lib/modules/VERSION
	Version string
}

// FindKernel returns the newest /boot/vmlinuz-* whose modules include
// mac80211_hwsim, or an error saying what is missing.
func FindKernel() (Kernel, error) {
	images, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Sort(sort.Reverse(sort.StringSlice(images)))
	for _, img := range images {
		v := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
		mod := filepath.Join("/lib/modules", v)
		if _, err := os.Stat(filepath.Join(mod, "modules.dep")); err != nil {
			continue
		}
		dep, err := os.ReadFile(filepath.Join(mod, "modules.dep"))
		if err != nil || !bytes.Contains(dep, []byte("/mac80211_hwsim.ko")) {
			continue
		}
		return Kernel{Image: img, Modules: mod, Version: v}, nil
	}
	return Kernel{}, errors.New("no kernel in /boot with mac80211_hwsim in /lib/modules (install linux-image-amd64: test/install-deps.sh)")
}

// moduleOrder resolves names (module names, '-' or '_') to their .ko paths
// relative to k.Modules, dependencies first, each once. Modules built in
// (not in modules.dep) are left out.
func (k Kernel) moduleOrder(names []string) ([]string, error) {
	f, err := os.Open(filepath.Join(k.Modules, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	defer f.Close()
	deps := map[string][]string{} // path -> deps
	byName := map[string]string{} // module name -> path
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		path, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[path] = strings.Fields(rest)
		byName[modName(path)] = path
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	var order []string
	seen := map[string]bool{}
	var add func(p string)
	add = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		d := deps[p]
		for i := len(d) - 1; i >= 0; i-- { // modules.dep lists the ones loaded last first
			add(d[i])
		}
		order = append(order, p)
	}
	for _, n := range names {
		p, ok := byName[strings.ReplaceAll(n, "-", "_")]
		if !ok {
			builtin, _ := os.ReadFile(filepath.Join(k.Modules, "modules.builtin"))
			if bytes.Contains(builtin, []byte("/"+n+".ko")) || bytes.Contains(builtin, []byte("/"+strings.ReplaceAll(n, "_", "-")+".ko")) {
				continue
			}
			return nil, fmt.Errorf("module %s not in %s", n, k.Modules)
		}
		add(p)
	}
	return order, nil
}

// modName is the module name of a modules.dep path: kernel/fs/9p/9p.ko.xz
// -> 9p, with '-' read as '_'.
func modName(path string) string {
	b := filepath.Base(path)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// WriteInitramfs writes an uncompressed newc cpio archive to path: static
// busybox as /bin/busybox, /init, and the modules (decompressed when the
// kernel ships them compressed is not supported: Debian 12's are plain).
func (k Kernel) WriteInitramfs(path, busybox string) error {
	order, err := k.moduleOrder(initModules)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	w := &cpioWriter{w: bufio.NewWriter(f)}
	for _, d := range []string{"bin", "modules", "dev", "proc", "sys"} {
		w.dir(d)
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		f.Close()
		return fmt.Errorf("write initramfs: %w", err)
	}
	w.file("bin/busybox", 0o755, bb)
	w.file("init", 0o755, []byte(initScript))
	var list strings.Builder
	for _, p := range order {
		if !strings.HasSuffix(p, ".ko") {
			f.Close()
			return fmt.Errorf("module %s is compressed: not supported", p)
		}
		b, err := os.ReadFile(filepath.Join(k.Modules, p))
		if err != nil {
			f.Close()
			return fmt.Errorf("write initramfs: %w", err)
		}
		w.file("modules/"+filepath.Base(p), 0o644, b)
		list.WriteString(filepath.Base(p) + "\n")
	}
	w.file("modules/order", 0o644, []byte(list.String()))
	w.trailer()
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if err := f.Close(); err != nil && w.err == nil {
		w.err = err
	}
	if w.err != nil {
		return fmt.Errorf("write initramfs: %w", w.err)
	}
	return nil
}

// cpioWriter writes the newc format the kernel unpacks.
type cpioWriter struct {
	w   *bufio.Writer
	ino int
	err error
}

func (c *cpioWriter) entry(name string, mode uint32, data []byte) {
	if c.err != nil {
		return
	}
	c.ino++
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad(len(hdr) + len(name) + 1)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) dir(name string)                         { c.entry(name, 0o040755, nil) }
func (c *cpioWriter) file(name string, perm uint32, b []byte) { c.entry(name, 0o100000|perm, b) }
func (c *cpioWriter) trailer()                                { c.entry("TRAILER!!!", 0, nil) }
