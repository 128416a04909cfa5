// SPDX-License-Identifier: GPL-3.0-or-later

package links

import "errors"

// ErrLinkNotFound is wrapped by Links methods when the named link does not
// exist (it may have been unplugged or renamed meanwhile).
var ErrLinkNotFound = errors.New("link not found")

// ErrSubscriptionLost is wrapped by the error that ends a link subscription
// before its context is done. Events may have been missed: the caller must
// list the links again and subscribe again.
var ErrSubscriptionLost = errors.New("link subscription lost")
