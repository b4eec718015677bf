#!/usr/bin/env bash
# Other users' command lines and environments are not theirs to read
# (issue 12): a plain user sees "<redacted>" for another user's argv and
# env values in `job show` and `job list` (JSON and tables); the owner and
# admins see them whole.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler
K=$T/state/keys
as() { # as NAME ARGS...: drover with NAME's key
    local who=$1
    shift
    DROVER_HOME= DROVER_KEY="$T/$who.key" DROVER_SCHEDULER_KEY="$K/scheduler.pub" \
        "$DROVER_BIN/drover" "$@"
}
dr_cli cluster create -n red -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
for u in alice bob; do
    dr_cli keys generate --name $u --dir "$T" >/dev/null
    dr_cli keys add-user $u --role user "$T/$u.pub" >/dev/null
done
id=$(as alice job submit --cluster red --env SECRET_TOKEN=hunter2 -- \
    sh -c 'echo --password=hunter2')

# bob: redacted, in every view
js=$(as bob -o json job show "$id")
dr_assert_eq "$(jq -r '.command | join(" ")' <<<"$js")" "<redacted>" "bob: argv"
dr_assert_eq "$(jq -r '[.env[] | .key + "=" + .value] | join(" ")' <<<"$js")" "SECRET_TOKEN=<redacted>" "bob: env"
dr_assert_eq "$(jq -r '.owner' <<<"$js")" alice "bob still sees the owner"
for out in "$(as bob job show "$id")" "$(as bob -o json job list)" "$(as bob job list)"; do
    [[ "$out" != *hunter2* ]] || dr_fail "bob read alice's secret: $out"
done
# alice and the admin: whole
dr_assert_eq "$(as alice -o json job show "$id" | jq -r '[.env[] | .key + "=" + .value] | join(" ")')" \
    "SECRET_TOKEN=hunter2" "alice: her env"
dr_assert_contains "$(as alice -o json job show "$id" | jq -r '.command | join(" ")')" \
    "--password=hunter2" "alice: her argv"
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r '[.env[] | .key + "=" + .value] | join(" ")')" \
    "SECRET_TOKEN=hunter2" "admin: the env"
dr_pass
