#!/usr/bin/env bash
# The CLI explains itself, with no scheduler running:
#  - every command group prints its help (`drover GROUP --help` exits 0 on
#    stdout; `drover GROUP` alone prints it on stderr and exits 2); every
#    command's `--help` exits 0 and lists each of its flags (with the value's
#    name), -o and the defaults;
#  - unknown commands and flags get the nearest known one;
#  - --version; a single-valued flag given twice is refused, named;
#  - against a dead endpoint, --timeout 1s ends in about a second with a
#    message that names both likely causes and the commands that check them;
#  - the bash completion script completes groups, commands and flags.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
D=$DROVER_BIN/drover

# run CMD...: sets OUT, ERR and RC
run() {
    RC=0
    "$@" >"$T/out" 2>"$T/err" || RC=$?
    OUT=$(<"$T/out")
    ERR=$(<"$T/err")
}

# the groups and commands, from the program's own table
mapfile -t groups < <("$D" __complete)
groups=("${groups[@]/#-*/}")
ncmd=0
for g in "${groups[@]}"; do
    [[ -z $g || $g == help ]] && continue
    run "$D" "$g" --help
    dr_assert_eq "$RC" 0 "drover $g --help exit"
    verbs=$("$D" __complete "$g")
    if [[ -z $verbs ]]; then # a one-word command (version)
        continue
    fi
    dr_assert_contains "$OUT" "usage: drover $g COMMAND" "drover $g --help"
    run "$D" "$g"
    dr_assert_eq "$RC" 2 "drover $g alone: a usage error"
    dr_assert_contains "$ERR" "commands:" "drover $g alone prints the group's help"
    for v in $verbs; do
        ncmd=$((ncmd + 1))
        dr_assert_contains "$("$D" "$g" --help)" "$g $v" "drover $g --help lists $v"
        run "$D" "$g" "$v" --help
        dr_assert_eq "$RC" 0 "drover $g $v --help exit"
        dr_assert_contains "$OUT" "usage: drover $g $v" "drover $g $v --help: usage"
        dr_assert_contains "$OUT" "-o, --output table|json" "drover $g $v --help: -o"
        # each flag the command completes is in its help, with its text
        for f in $("$D" __complete "$g" "$v"); do
            grep -qE -- "$f( |$)" <<<"$OUT" || dr_fail "drover $g $v --help lacks $f: $OUT"
        done
        run "$D" help "$g" "$v"
        dr_assert_eq "$RC" 0 "drover help $g $v"
    done
done
((ncmd >= 25)) || dr_fail "only $ncmd commands found"
dr_log "$ncmd commands: help of each lists its flags"

help=$("$D" job submit --help)
dr_assert_contains "$help" "--memory SIZE" "units: memory"
dr_assert_contains "$help" "(default: 512M)" "default: memory"
dr_assert_contains "$help" "HH:MM:SS" "the time-limit forms"
dr_assert_contains "$("$D" cluster create --help)" "(default: 120)" "default: idle seconds"
dr_assert_contains "$("$D" --help)" "--timeout DURATION" "drover --help: --timeout"

# did you mean
run "$D" job sumbit
dr_assert_eq "$RC" 2 "unknown command exit"
dr_assert_contains "$ERR" "unknown command 'job sumbit'; did you mean 'job submit'?" "command suggestion"
run "$D" clustr list
dr_assert_contains "$ERR" "unknown command 'clustr'; did you mean 'cluster'?" "group suggestion"
run "$D" cluster create -n c -s Standard_D2_v2 --max-node 3
dr_assert_eq "$RC" 2 "unknown flag exit"
dr_assert_contains "$ERR" "unknown option '--max-node'; did you mean --max-nodes?" "flag suggestion"
run "$D" --schedular tcp://x:1 job list
dr_assert_contains "$ERR" "did you mean --scheduler?" "global flag suggestion"

# --version
run "$D" --version
dr_assert_eq "$RC" 0 "--version exit"
[[ $OUT =~ ^drover\ [0-9]+\.[0-9]+\.[0-9]+\ \(protocol\ [0-9]+\)$ ]] || dr_fail "--version: $OUT"
dr_assert_eq "$("$D" version)" "$OUT" "version and --version agree"

# a single-valued flag given twice
run "$D" job list --state queued --state running
dr_assert_eq "$RC" 2 "repeated --state exit"
dr_assert_contains "$ERR" "option --state given 2 times: it takes one value" "repeated flag named"
run "$D" job submit --cluster a --cluster b -- true
dr_assert_contains "$ERR" "option --cluster given 2 times" "repeated --cluster"
run "$D" --timeout 1s --timeout 2s version
dr_assert_contains "$ERR" "option --timeout given 2 times" "repeated global flag"
# --env may repeat
run "$D" job submit --cluster a --env A=1 --env B=2 --time-limit 90 -- true
dr_assert_contains "$ERR" "ambiguous --time-limit '90'" "bare time limit refused"
run "$D" job submit --cluster a --time-limit 1-25:00 -- true
dr_assert_contains "$ERR" "malformed --time-limit '1-25:00'" "bad D-HH:MM refused"

# a dead endpoint: the timeout and what to check
mkdir -p "$T/keys"
"$D" keys generate --name admin --dir "$T/keys" >/dev/null
"$D" keys generate --name scheduler --dir "$T/keys" >/dev/null
t0=$(dr_now_ms)
RC=0
ERR=$(DROVER_HOME=$T/keys DROVER_INSECURE=0 "$D" --scheduler "tcp://127.0.0.1:$CPORT" --timeout 1s cluster list 2>&1) || RC=$?
dt=$(($(dr_now_ms) - t0))
dr_assert_eq "$RC" 1 "timeout exit"
((dt >= 900 && dt < 5000)) || dr_fail "--timeout 1s took $dt ms"
dr_assert_contains "$ERR" "did not answer within 1 s" "timeout named"
dr_assert_contains "$ERR" "pgrep -a drover-scheduler" "how to check it runs"
dr_assert_contains "$ERR" "ss -ltn sport = :$CPORT" "how to check its port"
dr_assert_contains "$ERR" "$T/keys/admin.key" "the key used is named"
dr_assert_contains "$ERR" "grep refused" "how to check the key"
dr_assert_contains "$ERR" "--timeout 30s" "how to wait longer"
# DROVER_TIMEOUT_MS still works, and --timeout wins over it
t0=$(dr_now_ms)
RC=0
DROVER_TIMEOUT_MS=60000 DROVER_HOME=$T/keys "$D" --scheduler "tcp://127.0.0.1:$CPORT" \
    --timeout 300ms cluster list >/dev/null 2>&1 || RC=$?
dt=$(($(dr_now_ms) - t0))
((RC == 1 && dt < 3000)) || dr_fail "--timeout did not override DROVER_TIMEOUT_MS (rc $RC, $dt ms)"
run "$D" --timeout soon cluster list
dr_assert_contains "$ERR" "malformed duration 'soon' for --timeout" "bad --timeout"

# bash completion, from the installed script
src=$DROVER_SOURCE_DIR/deploy/bash-completion/drover
complete_words() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _drover; echo "${COMPREPLY[*]}"' \
        _ "$src" "$D" "$@"
}
dr_assert_eq "$(complete_words jo)" "job" "completes a group"
dr_assert_eq "$(complete_words job sub)" "submit" "completes a command"
dr_assert_eq "$(complete_words job submit --time)" "--time-limit" "completes a flag"
dr_assert_eq "$(complete_words --insecure cluster create --max)" "--max-nodes" "after a global flag"
dr_pass
