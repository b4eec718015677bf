# shellcheck shell=bash
# The node image of the docker provider's tests: the built drover-agent and
# drover-launch, this machine's OpenMPI and mpi_ring (mpi_image.sh's root),
# and busybox's tools, imported as drover-test:node.  (deploy/image/ builds
# the real one from the agent package; this one takes seconds, from the
# build tree.)  Sourced after docker_image.sh and mpi_image.sh.
#
#   dr_node_image   builds drover-test:node (again when a binary changed)

DR_NODE_IMAGE=drover-test:node
export DR_NODE_IMAGE

dr_node_image() {
    local bins=("$DROVER_BIN/drover-agent" "$DROVER_BIN/drover-launch" "$DROVER_BIN/mpi_ring")
    local b
    for b in "${bins[@]}"; do
        [[ -x "$b" ]] || { echo "node_image.sh: $b not built" >&2; return 1; }
    done
    local want stamp
    want=$(cat "${bins[@]}" | sha256sum | cut -c1-16)
    stamp=$(docker image inspect -f '{{index .Config.Labels "drover.bins"}}' \
        "$DR_NODE_IMAGE" 2>/dev/null || true)
    [[ "$stamp" == "$want" ]] && return 0
    local bb=/bin/busybox
    ldd "$bb" >/dev/null 2>&1 && { echo "node_image.sh: $bb is not static" >&2; return 1; }
    local root
    root=$(mktemp -d "${TMPDIR:-/tmp}/drover-node-rootfs.XXXXXX")
    dr_mpi_rootfs "$root" "${bins[@]}"
    cp "$bb" "$root/bin/busybox"
    local c
    for c in echo sleep cat true false env head tail ls id hostname ip ps \
        seq grep tr wc date kill mkdir rm; do
        ln -s busybox "$root/bin/$c"
    done
    mkdir -p "$root/var/run" "$root/var/lib/drover-agent"
    tar -C "$root" -c . | docker import \
        -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
        -c 'ENV ASAN_OPTIONS=detect_leaks=0' \
        -c "LABEL drover.bins=$want" - "$DR_NODE_IMAGE" >/dev/null
    local rc=$?
    rm -rf "$root"
    return $rc
}
