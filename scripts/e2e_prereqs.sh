#!/usr/bin/env bash
# What `make e2e` needs besides the venv: Debian's `chromium` (headless, driven by the
# e2e tests over the DevTools protocol). Quick and idempotent: does nothing when
# /usr/bin/chromium is already there. Installs with apt-get (sudo only when not root).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "e2e_prereqs: $CHROMIUM is missing and this is not root (and there is no sudo):" >&2
  echo "  install Debian's chromium package, e.g. apt-get install chromium" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "e2e_prereqs: $CHROMIUM is missing and there is no apt-get: install Chromium so that $CHROMIUM exists" >&2
  exit 1
fi

echo "e2e_prereqs: installing Debian's chromium package (headless browser for the e2e tests)"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [[ ! -x "$CHROMIUM" ]]; then
  echo "e2e_prereqs: apt-get installed chromium but $CHROMIUM is still missing" >&2
  exit 1
fi
"$CHROMIUM" --version
