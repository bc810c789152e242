#!/usr/bin/env bash
# Installs the browser that RENDER=auto/always drives: Debian's chromium-headless-shell.
#
# As root and with the package missing: apt-get update and install it, quietly.
# Otherwise: say what is missing and exit 0, so that callers (make, CI) can go on and
# the browser tests skip; CI sets REQUIRE_BROWSER=1, where they must run, so there a
# failed install fails.  Never `playwright install`: it downloads a browser build.
set -euo pipefail
source "$(dirname "$0")/apt-package.sh"

PACKAGE=chromium-headless-shell
EXECUTABLE=${BROWSER_EXECUTABLE:-/usr/lib/chromium/chromium-headless-shell}

if [ -x "$EXECUTABLE" ]; then
    echo "install-browser: $EXECUTABLE is present"
    exit 0
fi

apt_install install-browser "$PACKAGE" REQUIRE_BROWSER "the browser tests skip"

if [ -x "$EXECUTABLE" ]; then
    echo "install-browser: installed $EXECUTABLE"
else
    echo "install-browser: $PACKAGE installed but $EXECUTABLE is not there;" \
         "set BROWSER_EXECUTABLE to the binary it provides" >&2
    exit 1
fi
