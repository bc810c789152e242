# Sourced by install-browser.sh and install-redis.sh, which install one Debian package
# each the same way.  Never run on its own.

# give_up TOOL REQUIRE_VAR: exit 0 so that make and CI go on and the tests needing the
# package skip; exit 1 where REQUIRE_VAR=1 (CI), because there those tests must run.
give_up() {
    local tool=$1 require=$2
    if [ "${!require:-0}" = 1 ]; then
        echo "$tool: $require=1 and the package is not available" >&2
        exit 1
    fi
    exit 0
}

# apt_install TOOL PACKAGE REQUIRE_VAR SKIPS: as root where apt-get is, update the lists
# and install PACKAGE quietly; otherwise say how to install it, then give_up.
apt_install() {
    local tool=$1 package=$2 require=$3 skips=$4
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "$tool: $package is missing, and only root with apt-get installs it here;"
        echo "$tool: run: sudo apt-get install -y $package   ($skips until then)"
        give_up "$tool" "$require"
    fi
    echo "$tool: installing $package with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq || \
       ! apt-get install -y -qq --no-install-recommends "$package" >/dev/null; then
        echo "$tool: apt-get could not install $package ($skips)" >&2
        give_up "$tool" "$require"
    fi
}
