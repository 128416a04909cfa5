# mac-nmguard — see README.md.
GO        ?= go
PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
BIN       := bin/mac-nmguard
FUZZTIME  ?= 10s
LDFLAGS   := -X main.version=$(VERSION)

.PHONY: all build test unit integration fuzz bench lint deps traces demo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mac-nmguard

deps:
	./test/install-deps.sh

# test: install what is missing, then everything: lint, unit, fuzz (short), integration.
test: deps lint build
	$(GO) test -race -count=1 -timeout 25m ./...
	$(MAKE) fuzz

unit:
	$(GO) test -race -count=1 -short ./...

# Each fuzz target runs for FUZZTIME; the seeds also run in every plain `go test`.
fuzz:
	@set -e; for pkg in ./policy ./detect; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

traces: build
	MAC_NMGUARD_RECORD_TRACES=1 $(GO) test -count=1 -run 'TestIntegrationRecordTraces' -v ./test/

clean:
	rm -rf bin
