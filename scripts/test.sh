#!/usr/bin/env bash
# `make test`: start the stack (unless it is already up), run the whole suite against
# it, then stop what this run started and check that nothing was left behind.
# The stack is stopped even when tests fail; the exit code is the worst of the steps.
set -u
cd "$(dirname "$0")/.."
SCALELAB=.venv/bin/scalelab
PYTEST=".venv/bin/pytest"

started=0
if $SCALELAB status >/dev/null 2>&1; then
    echo "== the stack is already up: testing it, and leaving it up afterwards"
else
    started=1
    echo "== starting the stack"
    # A service that fails to start is reported here and again by the tests that need
    # it (as failures naming it); the suite still runs so that every problem shows.
    # The default profile first, timed, and its idle memory taken (the footprint budget's figures,
    # results/budget), then the platform profile: its stores' tests run too.
    up_start=$SECONDS
    if $SCALELAB up; then
        $SCALELAB budget record "make up" $((SECONDS - up_start)) s --detail "default profile, warm venv" || true
        $SCALELAB status --memory --record || true
    fi
    $SCALELAB up --profile platform || echo "== scalelab up failed: the tests below say which service"
fi

echo "== test suite"
# TEST_PATHS narrows the run (make test/ENGINE: the workload and stack tests, with -m ENGINE).
SCALELAB_BUDGET=record $PYTEST ${TEST_PATHS:-tests/unit tests/stack tests/workloads tests/labs} --durations=25 "$@"
rc=$?

if [ "$started" = 1 ]; then
    echo "== stopping the stack"
    $SCALELAB down
    rc_down=$?
    echo "== checking that down left nothing behind"
    $PYTEST tests/after_down -p no:cacheprovider
    rc_after=$?
    [ $rc -eq 0 ] && rc=$rc_down
    [ $rc -eq 0 ] && rc=$rc_after
fi
[ -z "${TEST_PATHS:-}" ] && $SCALELAB budget record "make test" $SECONDS s --detail "scripts/test.sh, exit $rc" || true
exit $rc
