#!/usr/bin/env bash
# test_job_code.sh with the scheduler's state on PostgreSQL (a server of
# the test's own): the code and the collected outputs live in its
# job_files table, across the test's kill -9 too.  SKIP without one.
DR_STORE_PG=1 exec bash "$(dirname "$0")/test_job_code.sh"
