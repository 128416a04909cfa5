// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// InClient runs fn in the client netns on a locked OS thread and returns its
// error. The pattern is containernetworking/plugins' pkg/ns: the goroutine
// is locked to its thread, enters the namespace, runs fn, and goes back; if
// going back fails the thread is left locked, so the Go runtime ends it
// instead of reusing a thread in the wrong namespace. Sockets opened in fn
// stay in the client netns after fn returns.
func (b *Bed) InClient(t testing.TB, fn func() error) error {
	t.Helper()
	return inNS(b.ClientNS, fn)
}

// InPeer is InClient for the peer (network side) netns.
func (b *Bed) InPeer(t testing.TB, fn func() error) error {
	t.Helper()
	return inNS(b.PeerNS, fn)
}

// inNS runs fn in the named netns (see InClient).
func inNS(name string, fn func() error) error {
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", name, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns %s: %w", name, err)
			return
		}
		fnErr := callRecover(fn)
		if err := netns.Set(orig); err != nil {
			// Stay locked: the thread ends with this goroutine.
			errc <- fmt.Errorf("return from netns %s: %w (fn: %v)", name, err, fnErr)
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// callRecover calls fn and turns a panic into an error, so the caller can
// leave the namespace first.
func callRecover(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in namespace: %v", r)
		}
	}()
	return fn()
}
