# shellcheck shell=bash
# The image of the containerized MPI tests: this machine's OpenMPI (mpirun,
# orted, their plugins and every library they load), a shell and mpi_ring,
# imported as drover-test:openmpi (no registry is reachable from the test
# machines).  drover-launch is not in it: the agent brings it along.
# Sourced by the tests; by hand: DROVER_BIN=build bash mpi_image.sh
#
#   dr_mpi_image   builds drover-test:openmpi from $DROVER_BIN/mpi_ring
#                  (again when mpi_ring is newer than the image)

DR_MPI_IMAGE=drover-test:openmpi
export DR_MPI_IMAGE

# dr_mpi_rootfs ROOT [PROGRAM...]: fills ROOT with a shell, this machine's
# OpenMPI, the programs given (into /usr/local/bin) and every library they
# all load.
dr_mpi_rootfs() {
    local root=$1
    shift
    local lib=/usr/lib/x86_64-linux-gnu
    local plugins=("$lib"/openmpi/lib/openmpi3/*.so "$lib"/pmix2/lib/pmix/*.so)
    mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/local/bin" "$root/tmp" \
        "$root/scratch" "$root/proc" "$root/sys" "$root/dev" "$root/etc" \
        "$root/usr/share"
    chmod 1777 "$root/tmp"
    cp -L /bin/dash "$root/bin/sh"
    cp -L /usr/bin/orterun "$root/usr/bin/orterun"
    ln -sf orterun "$root/usr/bin/mpirun"
    cp -L /usr/bin/orted "$root/usr/bin/orted"
    local p
    for p in "$@"; do cp -L "$p" "$root/usr/local/bin/"; done
    (cd / && tar -ch "${lib#/}/openmpi" "${lib#/}/pmix2") | tar -C "$root" -x
    cp -a /usr/share/openmpi "$root/usr/share/"
    [[ -d /usr/share/pmix ]] && cp -a /usr/share/pmix "$root/usr/share/"
    cp -a /etc/openmpi "$root/etc/"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    local f
    for f in $(ldd /bin/dash /usr/bin/orterun /usr/bin/orted "$@" "${plugins[@]}" 2>/dev/null |
        awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | sort -u); do
        mkdir -p "$root$(dirname "$f")"
        cp -L "$f" "$root$f"
    done
}

dr_mpi_image() {
    local ring="$DROVER_BIN/mpi_ring"
    [[ -x "$ring" ]] || { echo "mpi_image.sh: $ring not built" >&2; return 1; }
    local stamp
    stamp=$(docker image inspect -f '{{index .Config.Labels "drover.mpi_ring"}}' \
        "$DR_MPI_IMAGE" 2>/dev/null || true)
    local want
    want=$(sha256sum "$ring" | cut -c1-16)
    [[ "$stamp" == "$want" ]] && return 0
    local root
    root=$(mktemp -d "${TMPDIR:-/tmp}/drover-mpi-rootfs.XXXXXX")
    dr_mpi_rootfs "$root" "$ring"
    tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
        -c "LABEL drover.mpi_ring=$want" - "$DR_MPI_IMAGE" >/dev/null
    local rc=$?
    rm -rf "$root"
    return $rc
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    : "${DROVER_BIN:?set DROVER_BIN to the build directory}"
    dr_mpi_image && echo "$DR_MPI_IMAGE ready"
fi
