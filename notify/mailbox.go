// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import "sync"

// mailbox is an unbounded queue from the agent's loop to a bus goroutine:
// put never blocks, so the loop never waits on a bus (and the bus goroutines,
// which block sending events to the loop, cannot deadlock with it).
type mailbox[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{} // holds a token while items may be waiting
}

func newMailbox[T any]() *mailbox[T] {
	return &mailbox[T]{ready: make(chan struct{}, 1)}
}

// put queues v.
func (m *mailbox[T]) put(v T) {
	m.mu.Lock()
	m.items = append(m.items, v)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// take returns everything queued, oldest first.
func (m *mailbox[T]) take() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := m.items
	m.items = nil
	return items
}
