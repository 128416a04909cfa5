// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import "time"

// backoff is the wait between reconnection attempts: min at first, doubled
// after each failure up to max, back to min after a success.
type backoff struct {
	min, max time.Duration
	next     time.Duration
}

func newBackoff(min, max time.Duration) *backoff {
	if min <= 0 {
		min = 500 * time.Millisecond
	}
	if max < min {
		max = min
	}
	return &backoff{min: min, max: max, next: min}
}

// wait returns the wait before the next attempt and doubles the one after.
func (b *backoff) wait() time.Duration {
	d := b.next
	b.next = min(2*b.next, b.max)
	return d
}

// reset starts again from min.
func (b *backoff) reset() { b.next = b.min }
