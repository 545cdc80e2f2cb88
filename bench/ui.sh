#!/usr/bin/env bash
# Measures the web UI's incident list against GET /api/v1/incidents with 100,000 incidents
# stored (p50, p99, requests/s; target: the page at least 0.8 of the API's requests/s), and
# the page of an incident with 50,000 alerts and 5,000 timeline events; 16 concurrent
# clients, 5 s per target, over loopback, on SQLite.
#   bench/ui.sh
#   bench/ui.sh -duration 10s -conns 32     # any flag of bench/ui is passed on
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d "${TMPDIR:-/tmp}/firebreak-ui.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/uiload" ./bench/ui
"$tmp/uiload" -incidents 100000 -alerts 50000 -events 5000 -conns 16 -duration 5s "$@"
