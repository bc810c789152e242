#!/usr/bin/env bash
# Installs the browser that RENDER=auto/always drives: Debian's chromium-headless-shell.
#
# As root and with the package missing: apt-get update and install it, quietly.
# Otherwise: say what is missing and exit 0, so that callers (make, CI) can go on and
# the browser tests skip.  Never `playwright install`: it downloads a browser build.
set -euo pipefail

# CI sets REQUIRE_BROWSER=1: there the rendering tests must run, so a failed install fails.
give_up() {
    if [ "${REQUIRE_BROWSER:-0}" = 1 ]; then
        echo "install-browser: REQUIRE_BROWSER=1 and the browser is not available" >&2
        exit 1
    fi
    exit 0
}

PACKAGE=chromium-headless-shell
EXECUTABLE=${BROWSER_EXECUTABLE:-/usr/lib/chromium/chromium-headless-shell}

if [ -x "$EXECUTABLE" ]; then
    echo "install-browser: $EXECUTABLE is present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-browser: $EXECUTABLE is missing; not root, so not installing."
    echo "install-browser: run: sudo apt-get install -y $PACKAGE   (browser tests skip until then)"
    give_up
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: $EXECUTABLE is missing and there is no apt-get here;"
    echo "install-browser: install Debian's $PACKAGE (browser tests skip until then)"
    give_up
fi

echo "install-browser: installing $PACKAGE with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq || \
   ! apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null; then
    echo "install-browser: apt-get could not install $PACKAGE; the browser tests will skip" >&2
    give_up
fi

if [ -x "$EXECUTABLE" ]; then
    echo "install-browser: installed $EXECUTABLE"
else
    echo "install-browser: $PACKAGE installed but $EXECUTABLE is not there;" \
         "set BROWSER_EXECUTABLE to the binary it provides" >&2
    exit 1
fi
