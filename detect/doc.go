// Package detect spots networks that probably reject the spoofed address:
// a pure state machine fed with the ordered stream of device events that
// raises a Suspicion (auth-loop, auth-failure, dhcp-failure,
// association-timeout) while spoofing is in effect. It does no I/O.
package detect
