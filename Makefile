# SPDX-License-Identifier: GPL-3.0-or-later
# mac-nmguard — see README.md.
GO        ?= go
PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
BIN       := bin/mac-nmguard
FUZZTIME  ?= 10s
STATICCHECK ?= v0.8.2
# The oldest Go that builds this module (go.mod's go line): Debian 13's.
# `make compat` builds and vets everything with it (the go command fetches
# that toolchain from the module proxy).
OLDEST_GO ?= go1.24.4
LDFLAGS   := -X main.version=$(VERSION)

.PHONY: all build test unit integration fuzz bench lint deps traces demo clean vuln compat deb

all: build

# A static binary (CGO_ENABLED=0): no C library to load at each start
# (about 1 ms of every `check`) or to keep mapped in the service.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mac-nmguard

deps:
	./test/install-deps.sh

# WIFIBED is the real Wi-Fi bed's package (one qemu guest, see
# test/wifibed/README.md). It runs after the other packages, alone: the
# guest takes about a core for its whole run.
WIFIBED   := ./test/wifibed/
# TRACE_PKGS are the beds `make traces` records on: the NetworkManager bed
# (wired) and the Wi-Fi bed.
TRACE_PKGS ?= ./test/ $(WIFIBED)

# test: install what is missing, then everything: lint, unit, fuzz (short), integration.
test: deps lint build compat
	$(GO) test -race -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/test/wifibed$$')
	$(GO) test -race -count=1 -timeout 30m $(WIFIBED)
	$(MAKE) fuzz

# compat: build and vet (tests included) with the oldest supported Go.
compat:
	GOTOOLCHAIN=$(OLDEST_GO) $(GO) vet ./...

# deb: the Debian package, in bin/deb (dpkg-buildpackage writes next to the
# source, so the tracked files are copied there first). -d: Debian 12's own
# Go is older than go.mod's; the Go on PATH builds it.
deb:
	rm -rf bin/deb && mkdir -p bin/deb/src
	git ls-files -z | xargs -0 cp --parents -t bin/deb/src
	cd bin/deb/src && GOFLAGS=-buildvcs=false dpkg-buildpackage -us -uc -b -d
	lintian --pedantic -I bin/deb/*.changes
	@ls bin/deb/*.deb

unit:
	$(GO) test -race -count=1 -short ./...

# Each fuzz target runs for FUZZTIME; the seeds also run in every plain `go test`.
fuzz:
	@set -e; for pkg in ./policy ./detect ./nmhook ./nmhook/backstop ./notify; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	  done; \
	done

# vuln: govulncheck, with the vulnerability data from the Go module proxy
# (golang.org/x/vulndb) when vuln.go.dev is out of reach; VULNDB=URL to
# use a database directly.
vuln:
	./test/govulncheck.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

# demo: the real service gating a real NetworkManager in a private sandbox
# (namespaces, private D-Bus bus), narrated; needs root; leaves nothing behind.
demo: deps
	$(GO) test -c -o bin/demo.test ./test
	cd test && MAC_NMGUARD_DEMO=1 MAC_NMGUARD_REQUIRE_INTEGRATION=1 ../bin/demo.test -test.run '^TestIntegrationDemo$$' -test.count=1

traces: build
	MAC_NMGUARD_RECORD_TRACES=1 $(GO) test -count=1 -p 1 -timeout 40m -run 'TestIntegrationRecordTraces|TestIntegrationWifi$$' -v $(TRACE_PKGS)

clean:
	rm -rf bin

# ---- install -----------------------------------------------------------------
# make install [DESTDIR=...] [PREFIX=/usr/local] [SYSCONFDIR=/etc] ...
# Installs the binary, the systemd unit, the D-Bus and polkit policies, the
# desktop agent's autostart file, the NetworkManager snippet, the default
# policy (never over an existing one), man pages and shell completion.
# make uninstall removes what install put there; a changed policy.toml stays.
SYSCONFDIR     ?= /etc
BINDIR         ?= $(PREFIX)/bin
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# dbus-daemon, polkitd and NetworkManager read these places only (their own
# prefix, compiled in), so they do not follow PREFIX; DESTDIR applies.
DBUSPOLICYDIR  ?= /usr/share/dbus-1/system.d
POLKITDIR      ?= /usr/share/polkit-1/actions
NMCONFDIR      ?= /usr/lib/NetworkManager/conf.d
AUTOSTARTDIR   ?= $(SYSCONFDIR)/xdg/autostart
POLICYDIR      ?= $(SYSCONFDIR)/mac-nmguard
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR     ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR    ?= $(DATADIR)/fish/vendor_completions.d
INSTALL        ?= install
# GENDIR holds what is generated from the binary and the templates (bin/ is
# git-ignored and removed by make clean).
GENDIR         ?= bin/gen
DIST           := cmd/mac-nmguard/dist

.PHONY: install uninstall man completion dist-gen

man: build
	rm -rf $(GENDIR)/man
	$(BIN) docs man $(GENDIR)/man

completion: build
	mkdir -p $(GENDIR)/completion
	$(BIN) docs completion bash > $(GENDIR)/completion/mac-nmguard.bash
	$(BIN) docs completion zsh  > $(GENDIR)/completion/_mac-nmguard
	$(BIN) docs completion fish > $(GENDIR)/completion/mac-nmguard.fish

# dist-gen fills the install paths into the unit and the autostart file.
dist-gen:
	mkdir -p $(GENDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  $(DIST)/mac-nmguard.service.in > $(GENDIR)/mac-nmguard.service
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  $(DIST)/mac-nmguard-agent.desktop.in > $(GENDIR)/mac-nmguard-agent.desktop

install: build man completion dist-gen
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/mac-nmguard
	$(INSTALL) -D -m 0644 $(GENDIR)/mac-nmguard.service $(DESTDIR)$(SYSTEMDUNITDIR)/mac-nmguard.service
	$(INSTALL) -D -m 0644 $(DIST)/io.github.macnmguard.Guard1.conf $(DESTDIR)$(DBUSPOLICYDIR)/io.github.macnmguard.Guard1.conf
	$(INSTALL) -D -m 0644 $(DIST)/io.github.macnmguard.policy $(DESTDIR)$(POLKITDIR)/io.github.macnmguard.policy
	$(INSTALL) -D -m 0644 $(GENDIR)/mac-nmguard-agent.desktop $(DESTDIR)$(AUTOSTARTDIR)/mac-nmguard-agent.desktop
	$(INSTALL) -D -m 0644 $(DIST)/90-mac-nmguard.conf $(DESTDIR)$(NMCONFDIR)/90-mac-nmguard.conf
	$(INSTALL) -D -m 0644 $(GENDIR)/completion/mac-nmguard.bash $(DESTDIR)$(BASHCOMPDIR)/mac-nmguard
	$(INSTALL) -D -m 0644 $(GENDIR)/completion/_mac-nmguard $(DESTDIR)$(ZSHCOMPDIR)/_mac-nmguard
	$(INSTALL) -D -m 0644 $(GENDIR)/completion/mac-nmguard.fish $(DESTDIR)$(FISHCOMPDIR)/mac-nmguard.fish
	$(INSTALL) -m 0644 $(GENDIR)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 $(GENDIR)/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(GENDIR)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -d -m 0755 $(DESTDIR)$(POLICYDIR)/policy.d
	@# An existing policy is never overwritten: the shipped one goes next to it.
	@if [ -e $(DESTDIR)$(POLICYDIR)/policy.toml ] && ! cmp -s $(DIST)/policy.toml $(DESTDIR)$(POLICYDIR)/policy.toml; then \
	  $(INSTALL) -m 0644 $(DIST)/policy.toml $(DESTDIR)$(POLICYDIR)/policy.toml.dist; \
	  echo "install: kept your $(POLICYDIR)/policy.toml; the shipped default is $(POLICYDIR)/policy.toml.dist"; \
	else \
	  echo "$(INSTALL) -m 0644 $(DIST)/policy.toml $(DESTDIR)$(POLICYDIR)/policy.toml"; \
	  $(INSTALL) -m 0644 $(DIST)/policy.toml $(DESTDIR)$(POLICYDIR)/policy.toml; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
	  echo "install: now run: systemctl daemon-reload && systemctl enable --now mac-nmguard;"; \
	  echo "install: reload D-Bus (systemctl reload dbus) and NetworkManager (nmcli general reload)"; \
	fi

# uninstall removes exactly the files install writes. policy.toml goes only
# when it is unchanged; the directories under SYSCONFDIR only when empty.
# Stop the service first (systemctl disable --now mac-nmguard); the kernel
# backstop outlives it on purpose: `mac-nmguard release` removes it.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mac-nmguard
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/mac-nmguard.service
	rm -f $(DESTDIR)$(DBUSPOLICYDIR)/io.github.macnmguard.Guard1.conf
	rm -f $(DESTDIR)$(POLKITDIR)/io.github.macnmguard.policy
	rm -f $(DESTDIR)$(AUTOSTARTDIR)/mac-nmguard-agent.desktop
	rm -f $(DESTDIR)$(NMCONFDIR)/90-mac-nmguard.conf
	rm -f $(DESTDIR)$(BASHCOMPDIR)/mac-nmguard $(DESTDIR)$(ZSHCOMPDIR)/_mac-nmguard $(DESTDIR)$(FISHCOMPDIR)/mac-nmguard.fish
	rm -f $(DESTDIR)$(MANDIR)/man1/mac-nmguard.1 $(DESTDIR)$(MANDIR)/man1/mac-nmguard-*.1
	rm -f $(DESTDIR)$(MANDIR)/man5/mac-nmguard.toml.5 $(DESTDIR)$(MANDIR)/man8/mac-nmguard-run.8
	rm -f $(DESTDIR)$(POLICYDIR)/policy.toml.dist
	@if [ -e $(DESTDIR)$(POLICYDIR)/policy.toml ]; then \
	  if cmp -s $(DIST)/policy.toml $(DESTDIR)$(POLICYDIR)/policy.toml; then \
	    echo "rm -f $(DESTDIR)$(POLICYDIR)/policy.toml"; rm -f $(DESTDIR)$(POLICYDIR)/policy.toml; \
	  else \
	    echo "uninstall: kept $(POLICYDIR)/policy.toml: it was changed"; \
	  fi; \
	fi
	@for d in $(DESTDIR)$(POLICYDIR)/policy.d $(DESTDIR)$(POLICYDIR); do \
	  if [ -d $$d ]; then rmdir --ignore-fail-on-non-empty $$d; fi; \
	done
