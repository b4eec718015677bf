# shellcheck shell=bash
# The tiny image the docker tests run: Debian's busybox-static imported as
# drover-test:busybox (no registry is reachable from the test machines).
# Sourced by the docker tests; usable by hand: bash docker_image.sh
#
#   dr_docker_up          true when a dockerd answers on $DOCKER_SOCK
#   dr_docker_image       builds drover-test:busybox unless it exists
#   dr_docker_skip_unless_up  prints "SKIP: ..." and exits 0 without dockerd

: "${DOCKER_SOCK:=/var/run/docker.sock}"
DR_TEST_IMAGE=drover-test:busybox
export DOCKER_SOCK DR_TEST_IMAGE

dr_docker_up() {
    [[ -S "$DOCKER_SOCK" ]] &&
        [[ "$(curl -s -m 3 --unix-socket "$DOCKER_SOCK" http://docker/_ping 2>/dev/null)" == OK ]]
}

dr_docker_skip_unless_up() {
    if ! dr_docker_up; then
        echo "SKIP: no dockerd answers on $DOCKER_SOCK"
        exit 0
    fi
}

dr_docker_image() {
    if docker image inspect "$DR_TEST_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    local bb
    bb=$(command -v busybox || true)
    for c in /bin/busybox /usr/bin/busybox "$bb"; do
        if [[ -n "$c" && -x "$c" ]] && ! ldd "$c" >/dev/null 2>&1; then
            bb=$c
            break
        fi
    done
    [[ -n "$bb" && -x "$bb" ]] || {
        echo "docker_image.sh: no static busybox (apt-get install busybox-static)" >&2
        return 1
    }
    local root
    root=$(mktemp -d "${TMPDIR:-/tmp}/drover-rootfs.XXXXXX")
    mkdir -p "$root/bin" "$root/tmp" "$root/scratch" "$root/proc" "$root/sys" \
        "$root/dev" "$root/etc"
    cp "$bb" "$root/bin/busybox"
    local c
    for c in sh echo sleep cat true false env head tail ls id yes seq; do
        ln -s busybox "$root/bin/$c"
    done
    chmod 1777 "$root/tmp"
    tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - "$DR_TEST_IMAGE" >/dev/null
    local rc=$?
    rm -rf "$root"
    return $rc
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    dr_docker_skip_unless_up
    dr_docker_image && echo "$DR_TEST_IMAGE ready"
fi
