#!/usr/bin/env bash
# The man pages in docs/man: each one lints clean (groff -ww, and mandoc
# -Tlint where it is installed), and each documents what its program
# prints in --help: every long flag of `drover-scheduler --help` is in
# drover-scheduler(8) and, as a config key, in drover.conf(5); every long
# flag of `drover-agent --help` is in drover-agent(8); every command and
# long flag of `drover help` is in drover(1).  A missing flag fails the
# test, named.  groff (Debian: groff-base, in deploy/install-deps.sh) is
# required: without it the test fails, it never passes unchecked.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MAN_DIR=$DROVER_SOURCE_DIR/docs/man
PAGES=(drover.1 drover-scheduler.8 drover-agent.8 drover.conf.5)

command -v groff >/dev/null 2>&1 ||
    dr_fail "groff is not installed (Debian package groff-base, see deploy/install-deps.sh)"
dr_setup # checks that the programs are built; $T is the work directory
WORK=$T

# lint PAGE: groff's warnings (all of them, -ww), for print and for an
# 80-column terminal (where man(1) shows it), and mandoc's, if installed.
lint() {
    local page=$1 out dev
    for dev in ps utf8; do
        out=$(groff -man -T"$dev" -ww -z "$page" 2>&1) ||
            dr_fail "$(basename "$page"): groff -T$dev failed: $out"
        [[ -z $out ]] || dr_fail "$(basename "$page"): groff -T$dev warnings:"$'\n'"$out"
    done
    if command -v mandoc >/dev/null 2>&1; then
        out=$(mandoc -Tlint -Wwarning "$page" 2>&1) ||
            dr_fail "$(basename "$page"): mandoc -Tlint:"$'\n'"$out"
    fi
}

# The linter must see a broken page, or a clean result means nothing.
printf '.TH BAD 1\n.SH NAME\nbad \\- bad\n.NOSUCHMACRO x\n\\fBunclosed \\*[nosuchstring]\n' >"$WORK/bad.1"
bad=$(groff -man -ww -z "$WORK/bad.1" 2>&1 || true)
[[ -n $bad ]] || dr_fail "groff -ww reports nothing on a broken page: the lint checks nothing"

for p in "${PAGES[@]}"; do
    f=$MAN_DIR/$p
    [[ -f $f ]] || dr_fail "missing man page docs/man/$p"
    lint "$f"
    # .TH NAME SECTION matches the file name (drover-agent.8: DROVER\-AGENT 8)
    name=${p%.*} sec=${p##*.}
    th=$(sed -n 's/^\.TH \([^ ]*\) \([0-9]\).*/\1 \2/p' "$f" | head -1 | sed 's/\\-/-/g')
    want=$(printf '%s %s' "${name^^}" "$sec")
    dr_assert_eq "$th" "$want" "$p: .TH line"
    # it renders, with the sections a man page must have
    text=$(groff -man -Tascii -P-cbou "$f" 2>/dev/null)
    for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
        grep -q "^$s\$" <<<"$text" || dr_fail "$p: no $s section"
    done
done

# The page's text as words: roff escapes undone, comments dropped.
plain() {
    sed -e '/^\.\\"/d' -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' \
        -e 's/\\[&:]//g' -e 's/\\(aq/'"'"'/g' -e 's/\\e/\\/g' "$1"
}

# has TEXT_FILE WORD: WORD appears, not as part of a longer flag or key
has() {
    local w=${2//./\\.}
    grep -qE -- "(^|[^A-Za-z0-9_-])${w}([^A-Za-z0-9_-]|\$)" "$1"
}

# long_flags TEXT: the distinct --flags in it
long_flags() {
    grep -oE -- '--[a-z][a-z0-9-]*' <<<"$1" | sort -u
}

# check_flags PAGE HELP_TEXT MIN: every long flag of HELP_TEXT is in PAGE
check_flags() {
    local page=$1 help=$2 min=$3 flags missing=() n=0
    plain "$MAN_DIR/$page" >"$WORK/$page.txt"
    flags=$(long_flags "$help")
    for f in $flags; do
        n=$((n + 1))
        has "$WORK/$page.txt" "$f" || missing+=("$f")
    done
    ((n >= min)) || dr_fail "only $n long flags found in the --help text for $page: $help"
    ((${#missing[@]} == 0)) || dr_fail "$page does not document: ${missing[*]}"
    dr_log "$page: all $n flags of --help documented"
}

sched_help=$("$DROVER_BIN/drover-scheduler" --help 2>&1) ||
    dr_fail "drover-scheduler --help exited $?: $sched_help"
check_flags drover-scheduler.8 "$sched_help" 10

# Every scheduler option but --config and --help is a key of drover.conf(5),
# written with '_' (the file takes '-' too), as the tag of an entry (the
# line after a .TP), not merely in an example.
plain "$MAN_DIR/drover.conf.5" | awk 'tag { print; tag = 0 } /^\.TP/ { tag = 1 }' >"$WORK/conf.txt"
missing=()
for f in $(long_flags "$sched_help"); do
    [[ $f == --config || $f == --help ]] && continue
    key=${f#--}
    key=${key//-/_}
    has "$WORK/conf.txt" "$key" || missing+=("$key")
done
((${#missing[@]} == 0)) || dr_fail "drover.conf.5 does not document the keys: ${missing[*]}"

agent_help=$("$DROVER_BIN/drover-agent" --help 2>&1) ||
    dr_fail "drover-agent --help exited $?: $agent_help"
check_flags drover-agent.8 "$agent_help" 10

cli_help=$("$DROVER_BIN/drover" help 2>&1) || dr_fail "drover help exited $?: $cli_help"
check_flags drover.1 "$cli_help" 20
# every command of the table ("  cluster create ...", "  version")
plain "$MAN_DIR/drover.1" >"$WORK/drover.1.txt"
missing=()
ncmd=0
while read -r group verb _; do
    ncmd=$((ncmd + 1))
    cmd=$group
    [[ -n $verb && $verb != -* && $verb != [\[A-Z]* ]] && cmd="$group $verb"
    grep -qF -- "$cmd" "$WORK/drover.1.txt" || missing+=("'$cmd'")
done < <(sed -n '/^commands:/,/^$/p' <<<"$cli_help" | sed -n 's/^  //p')
((ncmd >= 20)) || dr_fail "only $ncmd commands found in 'drover help': $cli_help"
((${#missing[@]} == 0)) || dr_fail "drover.1 does not document the commands: ${missing[*]}"
# every flag of every command's own --help (drover GROUP VERB --help)
missing=()
nflags=0
for g in $("$DROVER_BIN/drover" __complete | grep -v -- '^-'); do
    for v in $("$DROVER_BIN/drover" __complete "$g"); do
        h=$("$DROVER_BIN/drover" "$g" "$v" --help 2>&1) ||
            dr_fail "drover $g $v --help exited $?: $h"
        for f in $(long_flags "$h"); do
            nflags=$((nflags + 1))
            has "$WORK/drover.1.txt" "$f" || missing+=("$g $v $f")
        done
    done
done
((nflags >= 60)) || dr_fail "only $nflags flags found in the commands' --help"
((${#missing[@]} == 0)) || dr_fail "drover.1 does not document: ${missing[*]}"
# and the environment it reads
for v in DROVER_SCHEDULER DROVER_KEY DROVER_SCHEDULER_KEY DROVER_HOME DROVER_INSECURE; do
    has "$WORK/drover.1.txt" "$v" || dr_fail "drover.1 does not document \$$v"
done

dr_pass
