# shellcheck shell=bash
# A ledger proves that no two attempts of a job ever ran at the same time:
# the job appends "ATTEMPT NANOSECONDS" to a file every 100 ms while it
# runs, and dr_ledger_check reads each attempt's first and last line as the
# span it was alive and fails if two spans overlap.  Sourced by tests after
# lib.sh.

# dr_ledger_cmd FILE TICKS: the shell command of such a job (TICKS x 100 ms)
dr_ledger_cmd() {
    printf 'i=0; while [ $i -lt %d ]; do echo "$DROVER_ATTEMPT $(date +%%s%%N)" >>%s; i=$((i + 1)); sleep 0.1; done' \
        "$2" "$1"
}

# dr_ledger_check FILE: fails (dr_fail) when two attempts' spans overlap;
# prints one line per attempt (attempt, first, last, lines)
dr_ledger_check() {
    [[ -s "$1" ]] || dr_fail "ledger $1 is empty"
    local out
    out=$(awk '{ a = $1; t = $2
                 if (!(a in first) || t < first[a]) first[a] = t
                 if (!(a in last) || t > last[a]) last[a] = t
                 n[a]++ }
           END { for (a in first) printf "%s %s %s %d\n", a, first[a], last[a], n[a] }' "$1" |
        sort -k2,2n)
    printf '%s\n' "$out" | while read -r a f l n; do
        dr_log "ledger: attempt $a alive for $(((l - f) / 1000000)) ms ($n lines)"
    done
    local overlap
    overlap=$(printf '%s\n' "$out" | awk '
        NR > 1 && $2 <= prev_last {
            printf "attempt %s started %d ms before attempt %s ended\n",
                $1, (prev_last - $2) / 1000000, prev_a; bad = 1 }
        { if ($3 > prev_last) { prev_last = $3; prev_a = $1 } }
        END { exit bad ? 0 : 1 }') &&
        dr_fail "two attempts ran at once: $overlap"
    return 0
}
