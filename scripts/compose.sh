#!/usr/bin/env bash
# The docker runtime: compose.yaml under Docker Compose, or Podman with podman-compose
# (ENGINE=podman COMPOSE=podman-compose, as `make test-compose` runs it).
#   scripts/compose.sh up|down|status|logs SERVICE|build|wait|scale SERVICE N
# It needs no Python or Java on the host: the images hold both.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE=${ENGINE:-docker}
COMPOSE=${COMPOSE:-$ENGINE compose}
PROJECT=scalelab
# Which services: the compose profiles (every service is in `all`; groups: spark dask ray kafka
# jupyterlab apps). PROFILES="spark dask jupyterlab" leaves Ray, Kafka and the apps out.
PROFILES=${PROFILES:-all}
TIMEOUT=${SCALELAB_COMPOSE_TIMEOUT:-420}

# What compose.yaml reads from the environment: the host's user (files in labs/ and datasets/
# stay theirs) and the host's path of datasets/ (a path a driver names is the same for workers).
export SCALELAB_UID=${SCALELAB_UID:-$(id -u)} SCALELAB_GID=${SCALELAB_GID:-$(id -g)}
export SCALELAB_HOST_DATA_DIR=${SCALELAB_HOST_DATA_DIR:-$PWD/datasets}

profile_args=()
for p in $PROFILES; do profile_args+=(--profile "$p"); done
compose() { $COMPOSE -p "$PROJECT" -f compose.yaml "${profile_args[@]}" "$@"; }

# The tokens and passwords, the same files the local runtime keeps (config.KEPT_SECRETS): made here
# so that the host has them too (the URL below, Ray clients, the tests), without Python.
secrets() {
    mkdir -p .state/secrets
    chmod 700 .state/secrets
    for name in jupyter-token ray-token postgres-password redis-password airflow-admin-password \
                airflow-jwt-secret airflow-secret-key airflow-fernet-seed \
                spark-secret kafka-password kafka-keystore-password; do
        if [ ! -s ".state/secrets/$name" ]; then
            (umask 077; od -vAn -N24 -tx1 /dev/urandom | tr -d ' \n' > ".state/secrets/$name.tmp"
             echo >> ".state/secrets/$name.tmp"; mv ".state/secrets/$name.tmp" ".state/secrets/$name")
        fi
    done
}

# SCALELAB_AUTH=on: the engines' TLS certificate and CA too, made by the image's Python (the
# host needs none), as the host's user, into the folder the containers then mount read-only.
credentials() {
    local auth=${SCALELAB_AUTH:-$(sed -n 's/^SCALELAB_AUTH=//p' .env 2>/dev/null | tail -1)}
    [ "$(echo "$auth" | tr '[:upper:]' '[:lower:]')" = on ] || return 0
    [ -s .state/secrets/tls/names ] && return 0
    local image=${SCALELAB_IMAGE:-scalelab-python:dev}
    $ENGINE image inspect "$image" >/dev/null 2>&1 || compose build
    $ENGINE run --rm --network none --user "$SCALELAB_UID:$SCALELAB_GID" -e SCALELAB_AUTH=on \
        -v "$PWD/.state/secrets:/work/.state/secrets" "$image" scalelab credentials
}

containers() {
    $ENGINE ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}' | sort
}

# 0 if the container's healthcheck passes now. Docker runs healthchecks itself; Podman without
# systemd runs them only when asked, so ask.
healthy() {
    if [ "$ENGINE" = podman ]; then
        podman healthcheck run "$1" >/dev/null 2>&1
    else
        [ "$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1")" = healthy ]
    fi
}

wait_healthy() {
    local start=$SECONDS pending
    mapfile -t all < <(containers)
    if [ ${#all[@]} -eq 0 ]; then echo "no scalelab containers are running" >&2; return 1; fi
    pending=("${all[@]}")
    while [ ${#pending[@]} -gt 0 ]; do
        local still=()
        for c in "${pending[@]}"; do
            if healthy "$c"; then
                echo "  $c healthy after $((SECONDS - start)) s"
            else
                still+=("$c")
            fi
        done
        pending=("${still[@]+"${still[@]}"}")
        if [ ${#pending[@]} -gt 0 ]; then
            if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
                echo "not healthy within $TIMEOUT s: ${pending[*]}" >&2
                for c in "${pending[@]}"; do
                    echo "--- last lines of $c ($ENGINE logs $c)" >&2
                    $ENGINE logs --tail 20 "$c" >&2 2>&1 || true
                done
                return 1
            fi
            sleep 3
        fi
    done
    echo "all ${#all[@]} containers healthy in $((SECONDS - start)) s"
}

case "${1:-}" in
    build)
        compose build ;;
    up)
        secrets
        credentials
        mkdir -p datasets .state/models
        echo "== starting the stack in containers ($COMPOSE, profiles: $PROFILES)"
        compose up -d "${@:2}"
        wait_healthy
        echo "JupyterLab: http://127.0.0.1:${JUPYTER_PORT:-8888}/lab?token=$(cat .state/secrets/jupyter-token)"
        ;;
    scale)
        # scripts/compose.sh scale spark-worker 2: add (or remove) replicas of one service.
        [ -n "${3:-}" ] || { echo "usage: $0 scale SERVICE N" >&2; exit 2; }
        compose up -d --no-deps --scale "$2=$3" "$2"
        # Compose implementations differ on scaling down; the engine removes the extra replicas.
        containers | grep -E "[_-]$2[_-][0-9]+\$" | sort -t_ -k3 -n | awk -v n="$3" -F'[_-]' 'NR > n' \
            | xargs -r $ENGINE rm -f >/dev/null
        ;;
    wait)
        wait_healthy ;;
    down)
        # Every profile's containers, whichever `up` started.
        profile_args=(--profile all --profile platform)
        compose down "${@:2}" ;;
    status)
        for c in $(containers); do
            if healthy "$c"; then h=healthy; else h="not healthy"; fi
            printf '  %-32s %-10s %s\n' "$c" "$($ENGINE inspect --format '{{.State.Status}}' "$c")" "$h"
        done ;;
    logs)
        [ -n "${2:-}" ] || { echo "name a service: scripts/compose.sh logs kafka" >&2; exit 2; }
        compose logs --tail "${TAIL:-200}" "$2" ;;
    *)
        echo "usage: $0 up|down|status|logs SERVICE|build|wait|scale SERVICE N" >&2; exit 2 ;;
esac
