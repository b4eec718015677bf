#!/usr/bin/env bash
# The scheduler on PostgreSQL end to end (--store postgresql://...): the
# kill -9 test of test_scheduler_crash.sh, run against a PostgreSQL server
# of the test's own: clusters made, jobs run, a burst of submissions with
# a kill -9 in the middle, a restart; every acknowledged job is there, the
# running task finishes on its first attempt.
set -euo pipefail
export DR_STORE_PG=1
# shellcheck source=tests/integration/test_scheduler_crash.sh
source "$(dirname "$0")/test_scheduler_crash.sh"
