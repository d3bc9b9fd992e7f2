#!/usr/bin/env bash
# What the Makefile's targets need besides Go, installed with apt-get when
# this machine lacks it. `make deps` runs this; `make test`, `make verify`
# and `make generate` run `make deps` first, and so does .ci/run. This is
# the one list: add a tool here, not elsewhere.
#
# It installs as root, or with sudo when sudo needs no password; otherwise
# it prints the one command to run and fails.
set -euo pipefail

need=()
# The web UI's browser tests (make test) run /usr/bin/chromium, or the
# browser YIZHAN_CHROMIUM names.
if [ -n "${YIZHAN_CHROMIUM:-}" ]; then
  if [ ! -x "$YIZHAN_CHROMIUM" ]; then
    echo "deps: YIZHAN_CHROMIUM=$YIZHAN_CHROMIUM is not a program: set it to your chromium, or unset it to use Debian's /usr/bin/chromium" >&2
    exit 1
  fi
elif [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
# The protobuf compiler (make generate, make verify).
command -v protoc >/dev/null || need+=(protobuf-compiler)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "deps: missing ${need[*]} (Debian's package names), and this machine has no apt-get:" >&2
  echo "  install them with its package manager, then run make again (a chromium elsewhere than /usr/bin/chromium: set YIZHAN_CHROMIUM)" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "deps: missing ${need[*]}. Install once with this command, then run make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "deps: installing ${need[*]} with apt-get"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
