// SPDX-License-Identifier: GPL-3.0-or-later

package api

// Introspection is the interface's D-Bus introspection XML (one
// <interface> element), which the service exports and tests compare with
// its method table.
const Introspection = `
<interface name="` + Interface + `">
  <method name="ListDevices"><arg name="devices_json" type="s" direction="out"/></method>
  <method name="ListSuspicions"><arg name="suspicions_json" type="s" direction="out"/></method>
  <method name="Status"><arg name="status_json" type="s" direction="out"/></method>
  <method name="Restore">
    <arg name="device" type="s" direction="in"/>
    <arg name="connection_uuid" type="s" direction="in"/>
    <arg name="scope" type="s" direction="in"/>
  </method>
  <method name="KeepPrivate">
    <arg name="device" type="s" direction="in"/>
    <arg name="connection_uuid" type="s" direction="in"/>
  </method>
  <method name="Dismiss"><arg name="suspicion_id" type="s" direction="in"/></method>
  <method name="SetSpoofing"><arg name="spoof" type="b" direction="in"/></method>
  <method name="ListExemptions"><arg name="exemptions_json" type="s" direction="out"/></method>
  <method name="ForgetExemption"><arg name="id" type="s" direction="in"/></method>
  <method name="ForgetAllExemptions"><arg name="forgotten" type="u" direction="out"/></method>
  <signal name="Violation">
    <arg name="device" type="s"/><arg name="address" type="s"/><arg name="action" type="s"/><arg name="reason" type="s"/>
  </signal>
  <signal name="Suspicion"><arg name="suspicion_json" type="s"/></signal>
  <signal name="Restored">
    <arg name="device" type="s"/><arg name="connection_uuid" type="s"/><arg name="address" type="s"/><arg name="nm_state" type="u"/>
  </signal>
  <signal name="RestoreFailed">
    <arg name="device" type="s"/><arg name="connection_uuid" type="s"/><arg name="reason" type="s"/>
  </signal>
</interface>`
