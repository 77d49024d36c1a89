#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser),
# installing it if it is missing (as root, as CI runs). Idempotent. Prints its path.
# The tests drive this Chromium with Playwright; they never download a browser.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "chromium.sh: $CHROMIUM is not installed and this is not root: install Debian's 'chromium'" >&2
    exit 1
  fi
  echo "chromium.sh: installing Debian's chromium" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "chromium.sh: $CHROMIUM is still missing after installing" >&2
  exit 1
fi
echo "$CHROMIUM"
