#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs govulncheck against a vulnerability database built from
# golang.org/x/vulndb as the Go module proxy serves it, for machines that
# reach the proxy but not vuln.go.dev (govulncheck's default source).
# With VULNDB=URL (e.g. https://vuln.go.dev) that database is used instead.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
GOVULNCHECK=${GOVULNCHECK:-golang.org/x/vuln/cmd/govulncheck@latest}

if [ -n "${VULNDB:-}" ]; then
	exec "$GO" run "$GOVULNCHECK" -db "$VULNDB" ./...
fi

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
info=$("$GO" mod download -json golang.org/x/vulndb@latest)
dir=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
ver=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Version": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir/data/osv" ]; then
	echo "govulncheck: golang.org/x/vulndb has no data/osv (got: $info)" >&2
	exit 2
fi
echo "vulnerability data: golang.org/x/vulndb@$ver ($(ls "$dir/data/osv" | wc -l) OSV entries)"
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
(cd "$work/src" && "$GO" run ./cmd/indexdb -vulns data/osv -out "$work/db")
"$GO" run "$GOVULNCHECK" -db "file://$work/db" ./...
