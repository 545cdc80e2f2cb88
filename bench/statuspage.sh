#!/usr/bin/env bash
# Measures status-server's requests/s for / and /api/v2/summary.json against a bare handler
# returning the same gzip bytes from memory, with 10 and with 10,000 incidents in history,
# 32 connections, over loopback (target: at least 0.95 of the bare handler).
#   bench/statuspage.sh                          # 5 alternating rounds of 2 s per server and path
#   bench/statuspage.sh -duration 5s -rounds 9   # any flag of bench/statuspage is passed on
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d "${TMPDIR:-/tmp}/firebreak-statuspage.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/statusload" ./bench/statuspage
"$tmp/statusload" -conns 32 -incidents 10,10000 "$@"
