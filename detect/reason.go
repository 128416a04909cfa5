// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import "fmt"

// reasonText says in plain words why a Suspicion was raised: n pieces of
// evidence of category c; known when the network once worked with the
// real address.
func reasonText(c category, n int, known bool) string {
	var s string
	switch c {
	case catAuthRound:
		s = fmt.Sprintf("the network asked for the password %s and never let the private address connect (a wrong password looks the same)", times(n))
	case catAssocTimeout:
		s = fmt.Sprintf("connecting to the network with the private address timed out %s", times(n))
	case catAuthFailure:
		s = fmt.Sprintf("the sign-in with the private address failed %s: a wrong password, or a network that refuses this address (NetworkManager does not tell which)", times(n))
	case catAuthReject:
		s = fmt.Sprintf("the access point refused to let the private address in %s", times(n))
	case catDHCPFailure:
		s = fmt.Sprintf("the network refused %d DHCP %s from the private address", n, plural(n, "request", "requests"))
	default:
		s = "the network kept failing with the private address"
	}
	if known {
		s += "; it worked before with the real address"
	}
	return s
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
