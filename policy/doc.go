// Package policy is the MAC policy engine of mac-nmguard: the configuration
// model and its parser, device and network matching, Evaluate (is this
// address allowed on this device for this network, and why) and Generate
// (a compliant address). It is pure: it does no I/O beyond reading the files
// it is given and imports nothing else from this module.
package policy
