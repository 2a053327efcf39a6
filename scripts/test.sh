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
    # With the platform profile: its stores' tests run too (PostgreSQL and Redis start in seconds).
    $SCALELAB up --profile platform || echo "== scalelab up failed: the tests below say which service"
fi

echo "== test suite"
# TEST_PATHS narrows the run (make test/ENGINE: the workload and stack tests, with -m ENGINE).
$PYTEST ${TEST_PATHS:-tests/unit tests/stack tests/workloads tests/labs} --durations=25 "$@"
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
exit $rc
