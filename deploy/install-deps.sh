#!/usr/bin/env bash
# Install the Debian packages drover needs.
#
#     ./deploy/install-deps.sh            # all: build, run, and every test
#     ./deploy/install-deps.sh --runtime  # only what the quickstart needs:
#                                         # build and run (no Docker, no
#                                         # packaging or lint tools)
#
# Idempotent: when every package is already installed, apt is not touched.
# Runs as root; re-executes itself with sudo when started as another user.
set -euo pipefail

# to build (the unit tests are part of the build: check) and to run the
# scheduler, agents and the quickstart's jobs (MPI, jq, ss, python3)
RUNTIME=(
    build-essential cmake pkg-config
    libzmq3-dev
    protobuf-c-compiler libprotobuf-c-dev
    libcurl4-openssl-dev libmicrohttpd-dev
    libsqlite3-dev
    libpq-dev libyaml-dev libarchive-dev
    check libjansson-dev libsodium-dev
    openmpi-bin libopenmpi-dev
    jq python3
    procps iproute2 ca-certificates
)
# and for the whole test suite (deploy/test.sh): containers, sanitizers,
# formatting, man-page lint, packages and images
TESTS=(
    libczmq-dev sqlite3
    docker.io busybox-static
    python3-numpy curl
    clang-format groff-base
    clang libclang-rt-14-dev
    dpkg-dev debootstrap cloud-init
    python3-torch python3-mpi4py
    python3-pip python3-setuptools python3-wheel
    prometheus postgresql
    chromium
)

case "${1:-}" in
"") PACKAGES=("${RUNTIME[@]}" "${TESTS[@]}") ;;
--runtime) PACKAGES=("${RUNTIME[@]}") ;;
-h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "install-deps: unknown option '$1' (--runtime, or none for all)" >&2
    exit 2
    ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    # "ii " = desired install, currently installed
    if [[ "$status" != ii* ]]; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "install-deps: missing: ${missing[*]}"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: not root and no sudo; install as root:" >&2
        echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"
echo "install-deps: done"
