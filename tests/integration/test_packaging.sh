#!/usr/bin/env bash
# The Debian packages, the cloud-init user data and the node image (issue
# 13), with the real tools:
#  - `cpack -G DEB` on this build tree makes drover-scheduler, drover-agent
#    and drover; each holds its programs, unit (ExecStart in /usr/bin),
#    /etc/drover file (a conffile), man pages, and Depends from
#    dpkg-shlibdeps; no package holds a key; `cmake --install` installs the
#    same files;
#  - `cloud-init schema` accepts every file of deploy/cloud-init (and
#    refuses a broken one), whose agent.conf uses only the example's keys;
#  - in a fresh container of a minimal Debian root (debootstrap, with only
#    the libraries the packages' Depends name), dpkg -i installs the three
#    packages, which create their state directories; the packaged scheduler
#    runs from its packaged /etc/drover/drover.conf, the packaged CLI
#    drives it, and two packaged agents run from agent.conf files made from
#    the packaged example: one in that container, which joins with a join
#    token and makes its own key, and one in the node image of
#    deploy/image/build-node-image.sh (sharing its network namespace, by
#    the image's default CMD) with a key an admin added; a 2-node job runs
#    on both and succeeds.
# A missing tool (cpack, dpkg-deb, dpkg-shlibdeps, cloud-init, debootstrap)
# fails the test; without dockerd or root only the container part cannot
# run, and the test exits 77 (ctest: skipped) after the other checks.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"

for t in cpack dpkg-deb dpkg-shlibdeps cloud-init debootstrap python3; do
    command -v "$t" >/dev/null ||
        dr_fail "$t is not installed (deploy/install-deps.sh installs it)"
done
dr_setup
SRC=$DROVER_SOURCE_DIR
PKG=$T/pkg

# ---- the packages ----------------------------------------------------------
(cd "$DROVER_BIN" && cpack -G DEB -B "$PKG") >"$T/cpack.log" 2>&1 ||
    dr_fail "cpack -G DEB failed: $(tail -n 20 "$T/cpack.log")"
deb() { # PACKAGE: its file
    local f=("$PKG/$1"_*.deb)
    [[ -f ${f[0]} ]] || dr_fail "cpack made no $1 package: $(ls "$PKG")"
    echo "${f[0]}"
}
declare -A WANT=(
    [drover-scheduler]="./usr/bin/drover-scheduler ./usr/lib/systemd/system/drover-scheduler.service
        ./etc/drover/drover.conf ./usr/share/drover/vm-sizes.csv
        ./usr/share/man/man8/drover-scheduler.8 ./usr/share/man/man5/drover.conf.5"
    [drover-agent]="./usr/bin/drover-agent ./usr/bin/drover-launch
        ./usr/lib/systemd/system/drover-agent.service ./etc/drover/agent.conf.example
        ./usr/share/man/man8/drover-agent.8"
    [drover]="./usr/bin/drover ./usr/share/man/man1/drover.1 ./usr/share/bash-completion/completions/drover"
)
declare -A CONFFILE=([drover-scheduler]=/etc/drover/drover.conf
    [drover-agent]=/etc/drover/agent.conf.example)
: >"$T/deb-files"
for p in drover-scheduler drover-agent drover; do
    f=$(deb "$p")
    dr_assert_eq "$(dpkg-deb -f "$f" Package)" "$p" "$f: Package"
    files=$(dpkg-deb -c "$f" | awk '{ print $6 }')
    for w in ${WANT[$p]}; do
        grep -qxF "$w" <<<"$files" || dr_fail "$p lacks $w; it holds:"$'\n'"$files"
    done
    keys=$(grep -E '\.(key|pub)$|/keys/|secret' <<<"$files" || true)
    [[ -z $keys ]] || dr_fail "$p ships key files: $keys"
    dep=$(dpkg-deb -f "$f" Depends)
    dr_assert_contains "$dep" "libzmq5" "$p: Depends (dpkg-shlibdeps; the CLI's, which dlopens it, named)"
    dr_assert_contains "$dep" "libarchive13" "$p: Depends on the libarchive it dlopens"
    if [[ -n ${CONFFILE[$p]:-} ]]; then
        dr_assert_eq "$(dpkg-deb -I "$f" conffiles 2>/dev/null)" "${CONFFILE[$p]}" "$p: conffiles"
        unit=$(dpkg-deb --fsys-tarfile "$f" | tar -xO "./usr/lib/systemd/system/$p.service")
        dr_assert_contains "$unit" "ExecStart=/usr/bin/$p " "$p.service"
        [[ $unit != *@*@* ]] || dr_fail "$p.service has an unfilled @VAR@: $unit"
    fi
    grep -v '/$' <<<"$files" | sed 's|^\.||' >>"$T/deb-files"
    dr_log "$p: $(wc -w <<<"${WANT[$p]}") files checked; Depends: $dep"
done
dr_assert_contains "$(dpkg-deb -f "$(deb drover-scheduler)" Depends)" libsqlite3-0 \
    "drover-scheduler: Depends"

# cmake --install installs what the packages hold, no more, no less
DESTDIR=$T/inst cmake --install "$DROVER_BIN" --prefix /usr >"$T/install.log" 2>&1 ||
    dr_fail "cmake --install failed: $(tail -n 20 "$T/install.log")"
diff <(sort "$T/deb-files") <(cd "$T/inst" && find . -type f -o -type l | sed 's|^\.||' | sort) \
    >"$T/install.diff" || dr_fail "cmake --install and the packages differ:"$'\n'"$(cat "$T/install.diff")"

# ---- cloud-init ------------------------------------------------------------
printf '#cloud-config\nwrite_files: 3\nruncmd: {a: 1}\n' >"$T/bad.yaml"
if cloud-init schema --config-file "$T/bad.yaml" >/dev/null 2>&1; then
    dr_fail "cloud-init schema accepts a broken file: the check checks nothing"
fi
n=0
for f in "$SRC"/deploy/cloud-init/*.yaml; do
    out=$(cloud-init schema --config-file "$f" 2>&1) ||
        dr_fail "cloud-init schema refuses $(basename "$f"): $out"
    n=$((n + 1))
    # the agent.conf it writes: only keys of deploy/agent.conf.example
    python3 - "$f" "$SRC/deploy/agent.conf.example" <<'EOF' || dr_fail "$(basename "$f"): agent.conf keys"
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
known = set(re.findall(r'^#?([a-z_]+) =', open(sys.argv[2]).read(), re.M))
for w in doc.get('write_files', []):
    if w['path'] != '/etc/drover/agent.conf':
        continue
    keys = re.findall(r'^([a-z_-]+) *=', w['content'], re.M)
    bad = [k for k in keys if k.replace('-', '_') not in known]
    if not keys or bad:
        sys.exit(f"unknown keys {bad} (or none) in {keys}")
    break
else:
    sys.exit("writes no /etc/drover/agent.conf")
EOF
done
((n > 0)) || dr_fail "no deploy/cloud-init/*.yaml"
dr_log "cloud-init schema: $n files valid"

# ---- a fresh Debian container ---------------------------------------------
if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: the container part needs root (debootstrap, chroot); package checks passed"
    exit 77
fi
if ! dr_docker_up; then
    echo "SKIP: no dockerd answers on $DOCKER_SOCK; package checks passed"
    exit 77
fi
BASE=drover-test:pkg-base NODE_IMG=drover-test:pkg-node
C=drover-pkg-$$
IMAGE_SH=$SRC/deploy/image/build-node-image.sh
bash "$IMAGE_SH" --no-install --tag "$BASE" "$PKG"/*.deb >"$T/image-base.log" 2>&1 ||
    dr_fail "build-node-image.sh --no-install: $(tail -n 20 "$T/image-base.log")"
bash "$IMAGE_SH" --tag "$NODE_IMG" "$(deb drover-agent)" >"$T/image-node.log" 2>&1 ||
    dr_fail "build-node-image.sh: $(tail -n 20 "$T/image-node.log")"
cmd=$(docker image inspect -f '{{json .Config.Cmd}}' "$NODE_IMG")
dr_assert_eq "$cmd" '["/usr/bin/drover-agent","--config","/etc/drover/agent.conf"]' "node image CMD"

pkg_cleanup() {
    local c
    for c in "$C" "$C-b"; do
        docker exec "$c" sh -c 'cat /var/log/drover-*.log' >"$T/$c.log" 2>&1 || true
        docker logs "$c" >>"$T/$c.log" 2>&1 || true
        docker rm -f "$c" >/dev/null 2>&1 || true
    done
    docker rmi "$BASE" "$NODE_IMG" >/dev/null 2>&1 || true
}
dr_defer pkg_cleanup

# no network but loopback: nothing can come from a mirror
docker run -d --name "$C" --network none --hostname pkghost "$BASE" sleep 600 >/dev/null
# a sanitizer build's LeakSanitizer cannot ptrace in a container
NOLEAKS=ASAN_OPTIONS=detect_leaks=0
in_c() { docker exec -e "$NOLEAKS" "$C" "$@"; }
for p in drover-scheduler drover-agent drover; do
    docker cp "$(deb "$p")" "$C:/tmp/" >/dev/null
done
out=$(in_c sh -c 'dpkg -i /tmp/*.deb' 2>&1) || dr_fail "dpkg -i in a fresh container: $out"
for d in /var/lib/drover /var/lib/drover-agent; do
    dr_assert_eq "$(in_c stat -c %a "$d" 2>&1)" 700 "$d (postinst)"
done
for p in drover-scheduler drover-agent; do
    out=$(in_c "$p" --help 2>&1) || dr_fail "packaged $p --help: $out"
    dr_assert_contains "$out" "usage: $p" "$p --help"
done
dr_assert_contains "$(in_c drover version 2>&1)" "drover " "packaged drover version"
dr_assert_eq "$(in_c sh -c 'for p in drover-agent drover-launch drover-scheduler drover; do command -v $p; done' | paste -s -d' ')" \
    "/usr/bin/drover-agent /usr/bin/drover-launch /usr/bin/drover-scheduler /usr/bin/drover" \
    "installed programs"

# the scheduler from its packaged config (state in /var/lib/drover)
docker exec -d -e "$NOLEAKS" "$C" sh -c \
    'exec drover-scheduler --config /etc/drover/drover.conf --heartbeat-interval 500ms >/var/log/drover-scheduler.log 2>&1'
dr_wait_for "the packaged scheduler answers the packaged CLI" 20 in_c drover cluster list
in_c drover cluster create -n pkg -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 >/dev/null
# node-a joins by token (what cloud-init's user data sets up); node-b was
# added by hand: an admin made its key
tok=$(in_c drover cluster join-token create -n pkg --ttl 10m --uses 1 | awk '{print $NF}')
[[ "$tok" =~ ^[a-z0-9]{6}\.[a-z0-9]{32}$ ]] || dr_fail "no join token from the packaged CLI: $tok"
in_c drover keys generate --name node-b --dir /etc/drover >/dev/null
in_c drover keys add-agent node-b /etc/drover/node-b.pub >/dev/null

# agent.conf from the packaged example: the endpoint, the scheduler's key,
# the cluster and, for node-a, the join token (node-b: its key instead)
agent_conf() { # NAME TOKEN|"" KEY|""
    local edits=(-e 's|^scheduler = .*|scheduler = tcp://127.0.0.1:7700|'
        -e 's|^scheduler_key = .*|scheduler_key = /var/lib/drover/keys/scheduler.pub|'
        -e 's|^cluster = .*|cluster = pkg|' -e 's|^memory_mb = .*|memory_mb = 2048|'
        -e "s|^#name = .*|name = $1|")
    if [[ -n "$2" ]]; then
        edits+=(-e "s|^join_token = .*|join_token = $2|")
    else
        edits+=(-e '/^join_token/d' -e "s|^#key = .*|key = $3|")
    fi
    in_c sed "${edits[@]}" /etc/drover/agent.conf.example
}

# node-a: the agent installed in this container, from its config file
agent_conf node-a "$tok" "" >"$T/agent-a.conf"
docker cp "$T/agent-a.conf" "$C:/etc/drover/agent.conf" >/dev/null
docker exec -d -e "$NOLEAKS" "$C" sh -c 'exec drover-agent --config /etc/drover/agent.conf >/var/log/drover-agent.log 2>&1'

# node-b: the node image, in the scheduler container's network namespace,
# run by its default CMD (drover-agent --config /etc/drover/agent.conf)
docker cp "$C:/etc/drover/node-b.key" "$T/node-b.key" >/dev/null
docker cp "$C:/var/lib/drover/keys/scheduler.pub" "$T/scheduler.pub" >/dev/null
agent_conf node-b "" /etc/drover/node-b.key |
    sed 's|^scheduler_key = .*|scheduler_key = /etc/drover/scheduler.pub|' >"$T/agent-b.conf"
docker create --name "$C-b" --network "container:$C" -e "$NOLEAKS" "$NODE_IMG" >/dev/null
docker cp "$T/agent-b.conf" "$C-b:/etc/drover/agent.conf" >/dev/null
docker cp "$T/node-b.key" "$C-b:/etc/drover/node-b.key" >/dev/null
docker cp "$T/scheduler.pub" "$C-b:/etc/drover/scheduler.pub" >/dev/null
docker start "$C-b" >/dev/null

idle_nodes() {
    in_c drover -o json node list --cluster pkg |
        jq -r '[.[] | select(.state == "idle") | .name] | sort | join(" ")'
}
both_idle() { [[ $(idle_nodes) == "node-a node-b" ]]; }
dr_wait_for "node-a and node-b idle" 30 both_idle
out=$(in_c drover job submit --cluster pkg --nodes 2 --cpus 1 --wait -- \
    sh -c 'echo packaged-ok-$DROVER_NODE_RANK' 2>&1) || dr_fail "the 2-node job failed: $out"
id=$(in_c drover -o json job list --cluster pkg | jq -r '.[0].id')
logs=$(in_c drover job logs "$id" 2>&1)
dr_assert_contains "$logs" packaged-ok-0 "job $id logs"
dr_assert_contains "$logs" packaged-ok-1 "job $id logs"
dr_assert_eq "$(in_c drover -o json job show "$id" | jq -r '.nodes | sort | join(" ")')" \
    "node-a node-b" "job $id nodes"
dr_assert_eq "$(in_c stat -c %a /var/lib/drover-agent/node.key)" 600 "node-a made its own key (0600)"
dr_assert_contains "$(in_c drover cluster join-token list -n pkg)" "${tok%%.*}" "the token is listed"
dr_pass
