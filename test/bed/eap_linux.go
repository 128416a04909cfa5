// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The 802.1X users hostapd's internal EAP server knows.
const (
	EAPIdentityMD5  = "md5user"     // EAP-MD5
	EAPIdentityPEAP = "peapuser"    // PEAP with MSCHAPv2 inside
	EAPPassword     = "correctpass" // the right password of both
)

// eapUsers is hostapd's eap_user_file.
const eapUsers = `"` + EAPIdentityMD5 + `" MD5 "` + EAPPassword + `"
* PEAP
"` + EAPIdentityPEAP + `" MSCHAPV2 "` + EAPPassword + `" [2]
`

// hostapdConf is one wired authenticator on a peer end.
const hostapdConf = `interface=%s
driver=wired
ieee8021x=1
eapol_version=2
eap_reauth_period=0
use_pae_group_addr=1
eap_server=1
eap_user_file=%s
ca_cert=%s
server_cert=%s
private_key=%s
`

// Start8021X makes the network side require wired 802.1X on every current
// device: one hostapd (driver=wired, internal EAP server: EAP-MD5 and PEAP,
// users above) on the peer ends, and wpa_supplicant -u in ClientNS on the
// bed's bus, which NetworkManager uses. Devices added later are not covered
// (call Start8021X again: it restarts hostapd for the current set). Both are
// stopped in the bed's cleanup.
func (b *Bed) Start8021X(t testing.TB) {
	t.Helper()
	if err := b.start8021X(); err != nil {
		t.Fatalf("bed: start 802.1X: %v", err)
	}
}

func (b *Bed) start8021X() error {
	devs := b.Devices()
	if len(devs) == 0 {
		return fmt.Errorf("no devices")
	}
	dir := filepath.Join(b.Dir, "eap")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create eap dir: %w", err)
	}
	ca, cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if _, err := os.Stat(key); err != nil {
		if err := WriteCerts(ca, cert, key); err != nil {
			return err
		}
	}
	users := filepath.Join(dir, "eap_users")
	if err := os.WriteFile(users, []byte(eapUsers), 0o600); err != nil {
		return fmt.Errorf("write eap users: %w", err)
	}
	args := []string{"hostapd"}
	for _, d := range devs {
		conf := filepath.Join(dir, "hostapd-"+d.Peer+".conf")
		if err := os.WriteFile(conf, fmt.Appendf(nil, hostapdConf, d.Peer, users, ca, cert, key), 0o600); err != nil {
			return fmt.Errorf("write hostapd config: %w", err)
		}
		args = append(args, conf)
	}
	b.mu.Lock()
	old := b.hostapd
	b.hostapd = nil
	b.mu.Unlock()
	if old != nil {
		old.stop(5 * time.Second)
	}
	p, err := b.start("hostapd", b.PeerNS, nil, nil, args...)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.hostapd = p
	b.mu.Unlock()
	for _, d := range devs {
		if err := waitLog(p, d.Peer+": AP-ENABLED", 10*time.Second); err != nil {
			return err
		}
	}
	b.mu.Lock()
	sup := b.supplicant
	b.mu.Unlock()
	if sup != nil && !sup.Exited() {
		return nil
	}
	sup, err = b.start("wpa_supplicant", b.ClientNS, nil, nil, "wpa_supplicant", "-u", "-t")
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.supplicant = sup
	b.mu.Unlock()
	return b.waitName("fi.w1.wpa_supplicant1", sup, 10*time.Second)
}

// Hostapd returns the running hostapd (nil when none), e.g. for its Log.
func (b *Bed) Hostapd() *Process {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hostapd
}

// waitName waits until name has an owner on the bed's bus.
func (b *Bed) waitName(name string, p *Process, timeout time.Duration) error {
	conn, err := b.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	for {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
		if err == nil && has {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s exited (%v) before owning %s:\n%s", p.name, p.Wait(0), name, strings.TrimSpace(p.Log()))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not on the bus after %v", name, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WriteCerts writes a throw-away CA and a server certificate signed by it
// (ECDSA P-256), for hostapd's PEAP.
func WriteCerts(caPath, certPath, keyPath string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ca key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mac-nmguard test bed CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("ca cert: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("ca cert: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "radius.bed.invalid"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("server cert: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	files := []struct {
		path, typ string
		der       []byte
	}{{caPath, "CERTIFICATE", caDER}, {certPath, "CERTIFICATE", der}, {keyPath, "EC PRIVATE KEY", keyDER}}
	for _, f := range files {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}
