#!/usr/bin/env bash
# The Studio page (issue 18) in headless Chromium: its files are served
# with their Content-Type, a strict Content-Security-Policy and ETag
# revalidation; then studio_driver.py logs in (a wrong token first: 401
# shown), creates a cluster and submits jobs from the forms, watches one
# run and its logs live, sees a queued job's predicted start, cancels one,
# and saves screenshots under $DROVER_BIN/artifacts/studio.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $CHROMIUM ]]; then
    echo "SKIP: chromium is not installed (deploy/install-deps.sh installs it)"
    exit 77
fi
dr_setup
HP=$((CPORT + 7))
U=http://127.0.0.1:$HP
dr_start_scheduler --autoscale-interval 200ms --heartbeat-interval 500ms \
    --http-listen "127.0.0.1:$HP"
ADMIN=$(dr_cli keys token create admin | awk '{print $NF}')
dr_cli keys generate --name eve --dir "$T" >/dev/null
dr_cli keys add-user eve --role user "$T/eve.pub" >/dev/null
EVE=$(dr_cli -o json keys token create eve | jq -r .token)

# the files, as a browser gets them
curl -s -D "$T/h" -o "$T/index" "$U/"
dr_assert_contains "$(head -1 "$T/h")" " 200" "GET /"
h() { grep -i "^$1:" "$T/h" | cut -d' ' -f2- | tr -d '\r'; }
dr_assert_eq "$(h Content-Type)" "text/html; charset=utf-8" "Content-Type of /"
dr_assert_contains "$(h Content-Security-Policy)" "default-src 'none'; script-src 'self'" "CSP"
dr_assert_eq "$(h X-Content-Type-Options)" nosniff "nosniff"
dr_assert_eq "$(h Cache-Control)" no-cache "Cache-Control"
etag=$(h ETag)
[[ $etag =~ ^\"[0-9a-f]{16}\"$ ]] || dr_fail "ETag of /: '$etag'"
cmp -s "$T/index" "$DROVER_SOURCE_DIR/scheduler/studio/index.html" ||
    dr_fail "/ is not scheduler/studio/index.html"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$U/")
dr_assert_eq "$code" 304 "a revalidation with the ETag"
curl -s -D "$T/h" -o "$T/js" "$U/studio.js"
dr_assert_eq "$(h Content-Type)" "text/javascript; charset=utf-8" "Content-Type of studio.js"
cmp -s "$T/js" "$DROVER_SOURCE_DIR/scheduler/studio/studio.js" || dr_fail "studio.js differs"
curl -s -D "$T/h" -o /dev/null "$U/studio.css"
dr_assert_eq "$(h Content-Type)" "text/css; charset=utf-8" "Content-Type of studio.css"
dr_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/")" 405 "POST /"
dr_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$U/nope.js")" 404 "an unknown file"
dr_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/clusters/none/history" \
    -H "Authorization: Bearer $ADMIN")" 404 "history of no cluster"
dr_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/clusters/none/history")" \
    401 "history without a token"
dr_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/clusters/none/history?limit=5" \
    -H "Authorization: Bearer $ADMIN")" 400 "history with an unknown query parameter"
dr_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/api/v1/clusters/none/history" \
    -H "Authorization: Bearer $ADMIN")" 405 "POST to a history"

ART="$DROVER_BIN/artifacts/studio"
rm -rf "$ART"
mkdir -p "$ART"
/usr/bin/python3 "$(dirname "$0")/studio_driver.py" "$CHROMIUM" "$U" "$ADMIN" "$EVE" "$ART" ||
    dr_fail "the page did not do what was asked (screenshots in $ART)"
ls "$ART"/*.png >/dev/null || dr_fail "no screenshots in $ART"
dr_log "screenshots: $ART/*.png"

# the history the charts drew: samples with the cluster's node
hist=$(curl -s -H "Authorization: Bearer $ADMIN" "$U/api/v1/clusters/studio/history")
dr_assert_eq "$(jq -r .interval_s <<<"$hist")" 30 "history interval"
(($(jq '.samples[-1].total_nodes' <<<"$hist") >= 1)) || dr_fail "history: $hist"
# the new cluster was sampled at once: a kept sample before the live one
(($(jq '.samples | length' <<<"$hist") >= 2)) || dr_fail "history kept no sample: $hist"
dr_assert_eq "$(jq '.samples[-1].gpus' <<<"$hist")" 2 "history GPUs"
dr_pass
