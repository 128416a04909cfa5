// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// rfkillEventSize is the size of the first version of struct rfkill_event,
// which every kernel reads and writes.
const rfkillEventSize = 8

// devRfkill is /dev/rfkill.
type devRfkill struct {
	f        *os.File
	existing []RfkillEvent
}

// OpenRfkill opens /dev/rfkill and reads the switches present.
func OpenRfkill() (RfkillConn, error) {
	fd, err := unix.Open("/dev/rfkill", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/dev/rfkill", Err: err}
	}
	d := &devRfkill{}
	// The kernel queues one ADD event per switch at open; read them
	// until the queue is empty, before handing the descriptor to the
	// poller.
	buf := make([]byte, rfkillEventSize)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("read /dev/rfkill: %w", err)
		}
		if ev, ok := decodeRfkill(buf[:n]); ok {
			d.existing = append(d.existing, ev)
		}
	}
	d.f = os.NewFile(uintptr(fd), "/dev/rfkill")
	return d, nil
}

func decodeRfkill(b []byte) (RfkillEvent, bool) {
	if len(b) < rfkillEventSize {
		return RfkillEvent{}, false
	}
	return RfkillEvent{Idx: binary.NativeEndian.Uint32(b), Type: b[4], Op: b[5], Soft: b[6] != 0, Hard: b[7] != 0}, true
}

func (d *devRfkill) Existing() ([]RfkillEvent, error) { return d.existing, nil }

func (d *devRfkill) Next() (RfkillEvent, error) {
	buf := make([]byte, rfkillEventSize)
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			return RfkillEvent{}, err
		}
		if ev, ok := decodeRfkill(buf[:n]); ok {
			return ev, nil
		}
	}
}

func (d *devRfkill) Set(idx uint32, soft bool) error {
	b := make([]byte, rfkillEventSize)
	binary.NativeEndian.PutUint32(b, idx)
	b[4], b[5] = rfkillTypeWLAN, rfkillOpChange
	if soft {
		b[6] = 1
	}
	if _, err := d.f.Write(b); err != nil {
		return fmt.Errorf("rfkill: %w", err)
	}
	return nil
}

func (d *devRfkill) Close() error { return d.f.Close() }
