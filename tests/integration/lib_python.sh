# shellcheck shell=bash
# The Python SDK tests' own helpers (test_python_*.sh), on top of lib.sh:
#
#     source "$(dirname "$0")/lib.sh"
#     source "$(dirname "$0")/lib_python.sh"
#     py_need                      # PY, or SKIP
#     dr_setup
#     py_start "$T/ws" [scheduler args]   # HP, ADMIN, $T/ws/config.json
#     ... py_result KEY FILE

# py_need: PY=/usr/bin/python3 (3.9 or later, else SKIP); Python writes
# no bytecode into the source tree
py_need() {
    export PYTHONDONTWRITEBYTECODE=1
    PY=/usr/bin/python3
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
        { echo "SKIP: $PY is older than 3.9"; exit 77; }
}

# py_start DIR [args]: a scheduler with its HTTP listener on HP (args
# added), ADMIN an admin API token, DIR/config.json naming both (what
# Workspace.from_config reads)
py_start() {
    local dir=$1
    shift
    HP=$((CPORT + 7))
    dr_start_scheduler --http-listen "127.0.0.1:$HP" "$@"
    ADMIN=$(dr_cli keys token create admin | awk '{print $NF}')
    [[ $ADMIN == drv_* ]] || dr_fail "token create printed no token: $ADMIN"
    mkdir -p "$dir"
    jq -n --arg e "http://127.0.0.1:$HP" --arg t "$ADMIN" '{endpoint: $e, token: $t}' \
        >"$dir/config.json"
}

# py_result KEY FILE: the value of the script's "RESULT KEY value" line
py_result() {
    awk -v k="$1" '$1 == "RESULT" && $2 == k { $1 = ""; $2 = ""; sub(/^  /, ""); print }' "$2"
}
