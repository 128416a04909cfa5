// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestModuleOrder(t *testing.T) {
	dir := t.TempDir()
	dep := `kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko
kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko
kernel/fs/netfs/netfs.ko:
kernel/net/9p/9pnet.ko:
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
`
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/fs/overlayfs/overlay.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := Kernel{Modules: dir}
	got, err := k.moduleOrder([]string{"9pnet_virtio", "9p", "overlay"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/net/9p/9pnet.ko",
		"kernel/net/9p/9pnet_virtio.ko", "kernel/fs/netfs/netfs.ko", "kernel/fs/fscache/fscache.ko", "kernel/fs/9p/9p.ko"}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got  %v\n want %v", got, want)
	}
	if _, err := k.moduleOrder([]string{"nosuch"}); err == nil {
		t.Error("a missing module was accepted")
	}
}

func TestWriteInitramfs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "kernel"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte("kernel/a.ko:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "kernel", "a.ko"), []byte("module"), 0o644)
	bb := filepath.Join(dir, "busybox")
	os.WriteFile(bb, []byte("busybox!"), 0o755)
	k := Kernel{Modules: dir}
	saved := initModules
	t.Cleanup(func() { initModules = saved })
	initModules = []string{"a"}
	out := filepath.Join(dir, "initrd")
	if err := k.WriteInitramfs(out, bb); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 || string(b[:6]) != "070701" {
		t.Fatalf("not a padded newc archive: %q...", b[:16])
	}
	for _, s := range []string{"bin/busybox\x00", "init\x00", "modules/a.ko\x00", "modules/order\x00", "a.ko\n", "TRAILER!!!\x00", "switch_root"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("archive lacks %q", s)
		}
	}
}
