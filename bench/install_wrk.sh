#!/usr/bin/env bash
# Prints the path of wrk, installing Debian's package first when it is missing (needs root and
# the apt sources this machine already has; no repository is added). Used by bench/run.ts.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  command -v wrk
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: wrk is missing: install it (Debian/Ubuntu: apt-get install wrk) and re-run" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y wrk >&2; then
  apt-get update >&2
  apt-get install -y wrk >&2
fi
command -v wrk
