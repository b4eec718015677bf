#!/usr/bin/env bash
# Install dependencies, build drover twice (RelWithDebInfo and ASan/UBSan
# Debug), run every test with ctest in both trees, build the libFuzzer
# target in a third tree (build-fuzz, clang) and fuzz for at most a minute,
# and check formatting.
# Exits non-zero if any step fails; every step runs even after a failure so
# that one run shows everything that is wrong.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1

JOBS=$(nproc 2>/dev/null || echo 2)
failed=()

step() { printf '\n=== %s ===\n' "$*"; }

step "install dependencies"
if ! ./deploy/install-deps.sh; then
    echo "test.sh: install-deps.sh failed" >&2
    exit 1
fi

# --- dockerd (the docker runtime tests need one; they skip without it) ---
SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
fi
step "docker daemon"
if docker info >/dev/null 2>&1; then
    echo "dockerd already answers"
elif command -v dockerd >/dev/null 2>&1; then
    echo "starting dockerd (log: /tmp/drover-dockerd.log)"
    # Started in its own session so that it outlives this script.
    "${SUDO[@]}" setsid dockerd --storage-driver=vfs --iptables=false \
        --bridge=none >>/tmp/drover-dockerd.log 2>&1 </dev/null &
    ok=0
    for _ in $(seq 1 60); do
        if docker info >/dev/null 2>&1 ||
            "${SUDO[@]}" docker info >/dev/null 2>&1; then
            ok=1
            break
        fi
        sleep 1
    done
    if [[ $ok -eq 1 ]]; then
        echo "dockerd is up"
    else
        echo "WARNING: dockerd did not start within 60 s" \
            "(see /tmp/drover-dockerd.log); docker tests will skip" >&2
    fi
else
    echo "WARNING: dockerd not installed; docker tests will skip" >&2
fi

# --- builds ---------------------------------------------------------------
build() { # DIR cmake-args...
    local dir=$1
    shift
    step "build $dir"
    cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$JOBS"
}

build_ok=1
if ! build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    failed+=("build")
    build_ok=0
fi
asan_ok=1
if ! build build-asan -DCMAKE_BUILD_TYPE=Debug -DDROVER_SANITIZE=ON; then
    failed+=("build-asan")
    asan_ok=0
fi

# The fuzz tree: clang, libFuzzer + ASan/UBSan, only the fuzz target.
fuzz_ok=1
step "build build-fuzz"
if ! { CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDROVER_FUZZ=ON && cmake --build build-fuzz -j"$JOBS" \
    --target fuzz_envelope; }; then
    failed+=("build-fuzz")
    fuzz_ok=0
fi

# --- tests ----------------------------------------------------------------
if [[ $build_ok -eq 1 ]]; then
    step "ctest build"
    ctest --test-dir build --output-on-failure || failed+=("ctest build")
fi
if [[ $asan_ok -eq 1 ]]; then
    step "ctest build-asan"
    # test_packaging checks what cpack and dpkg make of the build tree,
    # which the sanitizers do not change: it runs in the first tree only
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure \
        -E '^integration/test_packaging$' ||
        failed+=("ctest build-asan")
fi

if [[ $fuzz_ok -eq 1 ]]; then
    step "ctest build-fuzz (fuzz/envelope, at most 60 s)"
    ctest --test-dir build-fuzz -R '^fuzz/' --output-on-failure ||
        failed+=("ctest build-fuzz")
fi

# --- format ----------------------------------------------------------------
step "clang-format check"
mapfile -t sources < <(find common scheduler agent tests \
    -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
badfmt=()
for f in "${sources[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        badfmt+=("$f")
    fi
done
if [[ ${#badfmt[@]} -gt 0 ]]; then
    echo "not clang-formatted (fix with: clang-format -i FILE...):" >&2
    printf '  %s\n' "${badfmt[@]}" >&2
    failed+=("clang-format")
else
    echo "${#sources[@]} files formatted"
fi

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "test.sh: all passed"
