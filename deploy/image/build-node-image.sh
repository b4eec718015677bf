#!/usr/bin/env bash
# Builds a drover node image: a minimal Debian root (debootstrap
# --variant=minbase, of this host's release, with the libraries the given
# packages depend on) with the packages installed by dpkg -i inside the
# root, imported into Docker (`docker import`: no registry is needed).  Its
# CMD runs the installed agent from its installed configuration, without
# systemd:
#
#     drover-agent --config /etc/drover/agent.conf
#
# so a node is `docker run -v /path/agent.conf:/etc/drover/agent.conf:ro
# --hostname NODE IMAGE` (the node is named after its hostname unless the
# file says otherwise).
#
#   build-node-image.sh [--tag IMAGE] [--no-install] [--mirror URL]
#                       [--suite SUITE] [--cache DIR] DEB...
#
#   --tag IMAGE    the image to create (default drover-node:VERSION of the
#                  first package)
#   --no-install   import the root with the packages' dependencies but
#                  without the packages (a fresh system to dpkg -i them in)
#   --mirror URL   the Debian mirror (default $DROVER_DEBIAN_MIRROR, else
#                  the first Debian mirror of this host's apt sources, else
#                  http://deb.debian.org/debian)
#   --suite SUITE  the release (default this host's: the packages' Depends
#                  were computed against its libraries)
#   --cache DIR    where debootstrapped roots are kept, one tarball per
#                  suite, mirror and package set (default
#                  $DROVER_ROOTFS_CACHE, else /var/cache/drover/rootfs):
#                  the second build with the same dependencies skips
#                  debootstrap
#
# Needs root (debootstrap, chroot), debootstrap, dpkg-deb and docker.
# Prints the image's name on its last line.
set -euo pipefail

die() {
    echo "build-node-image: $*" >&2
    exit 1
}

# The first Debian mirror ("deb" line or deb822 "URIs:") of the host's apt
# sources whose path ends in /debian.
host_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && cat "$f"
    done | awk '/^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) print $i }
                /^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
        grep -E '^https?://[^ ]*/debian/?$' | head -n 1 | sed 's|/$||' || true
}

tag="" install=1 suite="" cache=${DROVER_ROOTFS_CACHE:-/var/cache/drover/rootfs}
mirror=${DROVER_DEBIAN_MIRROR:-}
debs=()
while (($#)); do
    case $1 in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --no-install) install=0; shift ;;
    --mirror) mirror=${2:?--mirror needs a value}; shift 2 ;;
    --suite) suite=${2:?--suite needs a value}; shift 2 ;;
    --cache) cache=${2:?--cache needs a value}; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) debs+=("$1"); shift ;;
    esac
done
((${#debs[@]})) || die "no package given (see --help)"
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot)"
for t in debootstrap dpkg-deb docker; do
    command -v "$t" >/dev/null || die "$t is not installed (deploy/install-deps.sh)"
done
names=() drop=(-e '' -e libc6)
for d in "${debs[@]}"; do
    [[ -f $d ]] || die "no such package: $d"
    names+=("$(dpkg-deb -f "$d" Package)")
    drop+=(-e "${names[-1]}")
done
if [[ -z $suite ]]; then
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ -n $suite ]] || die "cannot tell this host's release; pass --suite"
fi
[[ -n $mirror ]] || mirror=$(host_mirror)
[[ -n $mirror ]] || mirror=http://deb.debian.org/debian
[[ -n $tag ]] || tag=drover-node:$(dpkg-deb -f "${debs[0]}" Version)

# The packages' Depends, names only (no versions; the first of
# alternatives), without the packages themselves and libc6 (in minbase).
include=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; done |
    tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' |
    grep -v -x -F "${drop[@]}" |
    sort -u | paste -s -d, -)
key=$(printf '%s\n' "$suite" "$mirror" "$include" | sha256sum | cut -c1-16)
tarball=$cache/$suite-$key.tar

work=$(mktemp -d "${TMPDIR:-/tmp}/drover-node-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"
if [[ -f $tarball ]]; then
    echo "build-node-image: root from $tarball" >&2
else
    echo "build-node-image: debootstrap $suite from $mirror, with: ${include:-nothing}" >&2
    debootstrap --variant=minbase ${include:+--include="$include"} "$suite" \
        "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 20 "$work/debootstrap.log" >&2
        die "debootstrap failed (log above)"
    }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    mkdir -p "$cache"
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root" && mkdir "$root"
fi
tar -C "$root" -xf "$tarball"

cmd='CMD ["/usr/bin/bash"]'
if ((install)); then
    mkdir -p "$root/tmp/debs"
    cp "${debs[@]}" "$root/tmp/debs/"
    chroot "$root" sh -c 'dpkg -i /tmp/debs/*.deb' >"$work/dpkg.log" 2>&1 || {
        cat "$work/dpkg.log" >&2
        die "dpkg -i in the image's root failed"
    }
    rm -rf "$root/tmp/debs"
    # the agent's CMD; without the agent package, a shell
    [[ -x $root/usr/bin/drover-agent ]] &&
        cmd='CMD ["/usr/bin/drover-agent", "--config", "/etc/drover/agent.conf"]'
fi
tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c "$cmd" \
    -c "LABEL drover.rootfs=$suite-$key" \
    -c "LABEL drover.packages=$(IFS=,; echo "${names[*]}")" - "$tag" >/dev/null
echo "$tag"
