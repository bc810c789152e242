#!/usr/bin/env bash
# Installs the server a shared crawl (FRONTIER_URL=redis://...) and its tests use:
# Debian's redis-server.  With it missing, as root: apt-get update and install it;
# otherwise say what is missing and exit 0, unless REQUIRE_REDIS=1 (CI), where the
# shared-crawl tests must run.
set -euo pipefail
source "$(dirname "$0")/apt-package.sh"

if command -v redis-server >/dev/null 2>&1; then
    echo "install-redis: $(command -v redis-server) is present"
    exit 0
fi

apt_install install-redis redis-server REQUIRE_REDIS "the shared-crawl tests skip"
# The package starts a system-wide server on 6379; tests never use it (each session
# starts its own on a free port), and a crawl is pointed at a server by FRONTIER_URL.
echo "install-redis: installed $(command -v redis-server)"
