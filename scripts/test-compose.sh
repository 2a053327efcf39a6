#!/usr/bin/env bash
# `make test-compose`: the docker runtime, tested where no Docker engine runs. Podman builds the
# image on a debootstrap base, podman-compose starts compose.yaml, the stack tests run from the
# host against the published ports, a scale-out is checked, and everything is removed again.
# Measurements (image size, build time, time to healthy) go to results/compose/.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/podman-setup.sh || exit 1
export ENGINE=podman COMPOSE="$PWD/.state/podman/venv/bin/podman-compose"
IMAGE=${SCALELAB_IMAGE:-localhost/scalelab-python:dev}
export SCALELAB_IMAGE=$IMAGE
OUT=results/compose
mkdir -p "$OUT"

if .venv/bin/scalelab status >/dev/null 2>&1 || ss -ltn | grep -q ':8786 '; then
    echo "the local stack holds the ports compose publishes: stop it first (make down)" >&2
    exit 1
fi

# The host's package configuration reaches the build as build arguments and secrets, never as
# files in the repository: pip's index (if the host sets one), its CA bundle, Java's trust store.
index=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}
ca=${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}
ca=${ca:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
build=(--build-arg BASE_IMAGE=localhost/scalelab-base:bookworm)
[ -n "$index" ] && build+=(--build-arg "PIP_INDEX_URL=$index")
[ -s "$ca" ] && build+=(--secret "id=ca_bundle,src=$ca")
[ -s /etc/ssl/certs/java/cacerts ] && build+=(--secret id=java_truststore,src=/etc/ssl/certs/java/cacerts)
# The wheels `make setup` put in uv's cache serve the image's install too.
uv_cache=$(.state/bootstrap/bin/uv cache dir 2>/dev/null || uv cache dir 2>/dev/null || true)
[ -d "$uv_cache" ] && build+=(--volume "$uv_cache:/host-uv-cache" --build-arg UV_CACHE_DIR=/host-uv-cache)

echo "== building $IMAGE"
start=$SECONDS
podman build -f docker/python/Dockerfile -t "$IMAGE" "${build[@]}" . > "$OUT/build.log" 2>&1 || {
    tail -30 "$OUT/build.log" >&2; echo "the image build failed: $OUT/build.log" >&2; exit 1; }
build_s=$((SECONDS - start))
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(podman image inspect --format '{{.Size}}' localhost/scalelab-base:bookworm)
echo "== built in $build_s s: $IMAGE $((size / 1000000)) MB (base $((base_size / 1000000)) MB)"

rc=0
start=$SECONDS
# Every service, the platform profile's too, with credentials on the engine ports: every stack
# test below then runs as the labs would with SCALELAB_AUTH=on (make test runs them with it off).
export PROFILES="all platform" SCALELAB_AUTH=on
bash scripts/compose.sh up || rc=1
up_s=$((SECONDS - start))

if [ $rc = 0 ]; then
    # The driver of a host-side Spark session: executors in the containers call it back on the
    # host's address in the compose network.
    gateway=$(podman network inspect scalelab_default --format '{{range .Subnets}}{{.Gateway}}{{end}}')
    echo "== stack tests against the published ports (Spark driver on $gateway)"
    # The service tests of tests/stack (those about the lab's content, graders and question-bank
    # demos, run on the local runtime: the same code on the same engines), then tests/images.
    files=()
    for t in spark spark_ui dask ray kafka jupyter model_api dashboard_service safety browser platform_stores airflow_pipeline \
             engine_credentials; do files+=("tests/stack/test_$t.py"); done
    # Left to the local runtime (`make test`): checks of code that is the same in a container,
    # whose cost is their own (Ray's token refusals retry for 30 s each; the Airflow rerun and the
    # bad day are the DAG's logic, which the compose backfill already runs end to end).
    same_code="ray_refuses_a_driver_without_the_token or rerunning_a_day or bad_day_stops"
    RUNTIME=docker RAY_ADDRESS=ray://127.0.0.1:${RAY_CLIENT_PORT:-10001} \
    SPARK_DRIVER_HOST=$gateway SPARK_DRIVER_BIND_ADDRESS=$gateway PYSPARK_PYTHON=/opt/venv/bin/python \
    SCALELAB_IMAGE=$IMAGE \
        SCALELAB_BUDGET=record .venv/bin/pytest "${files[@]}" tests/images -m "not local_runtime" -k "not ($same_code)" \
            -p no:cacheprovider --durations=10 "$@" || rc=1
fi

echo "== stopping the stack"
bash scripts/compose.sh down -v >/dev/null 2>&1 || rc=1
left=$(podman ps -a --filter label=com.docker.compose.project=scalelab --format '{{.Names}}')
if [ -n "$left" ]; then echo "containers left behind: $left" >&2; rc=1; fi

printf 'image,bytes,build_seconds,up_to_healthy_seconds\n%s,%s,%s,%s\n' "$IMAGE" "$size" "$build_s" "$up_s" \
    > "$OUT/measurements.csv"
cat "$OUT/measurements.csv"
.venv/bin/scalelab budget record "make test-compose" $SECONDS s --detail "scripts/test-compose.sh, exit $rc" || true
exit $rc
