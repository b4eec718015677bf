#!/usr/bin/env bash
# Install the Debian packages drover needs to build, test and run.
# Idempotent: when every package is already installed, apt is not touched.
# Runs as root; re-executes itself with sudo when started as another user.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libzmq3-dev libczmq-dev
    protobuf-c-compiler libprotobuf-c-dev
    libcurl4-openssl-dev libmicrohttpd-dev prometheus
    libsqlite3-dev sqlite3
    libpq-dev postgresql
    check libjansson-dev libsodium-dev
    openmpi-bin libopenmpi-dev
    docker.io busybox-static
    jq python3 python3-numpy
    procps iproute2 curl ca-certificates
    clang-format groff-base
    clang libclang-rt-14-dev
    dpkg-dev debootstrap cloud-init
    python3-torch libyaml-dev
)

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
