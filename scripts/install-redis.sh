#!/usr/bin/env bash
# Installs the server a shared crawl (FRONTIER_URL=redis://...) and its tests use:
# Debian's redis-server.  Same rules as install-browser.sh: as root with the package
# missing, apt-get update and install it; otherwise say what is missing and exit 0,
# unless REQUIRE_REDIS=1 (CI), where the shared-crawl tests must run.
set -euo pipefail

give_up() {
    if [ "${REQUIRE_REDIS:-0}" = 1 ]; then
        echo "install-redis: REQUIRE_REDIS=1 and redis-server is not available" >&2
        exit 1
    fi
    exit 0
}

PACKAGE=redis-server

if command -v redis-server >/dev/null 2>&1; then
    echo "install-redis: $(command -v redis-server) is present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-redis: redis-server is missing; install Debian's $PACKAGE" \
         "(sudo apt-get install -y $PACKAGE); the shared-crawl tests skip until then"
    give_up
fi

echo "install-redis: installing $PACKAGE with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq || \
   ! apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null; then
    echo "install-redis: apt-get could not install $PACKAGE" >&2
    give_up
fi
# The package starts a system-wide server on 6379; tests never use it (each session
# starts its own on a free port), and a crawl is pointed at a server by FRONTIER_URL.
echo "install-redis: installed $(command -v redis-server)"
