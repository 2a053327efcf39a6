#!/usr/bin/env bash
# Which runtime `make up` uses: RUNTIME=docker or RUNTIME=local when set (environment or .env),
# else docker when a Docker engine answers `docker info`, else local processes.
cd "$(dirname "$0")/.."
runtime=${RUNTIME:-}
if [ -z "$runtime" ] && [ -f .env ]; then
    runtime=$(sed -n 's/^RUNTIME=//p' .env | tail -1 | tr -d '"'"'"' ')
fi
case "${runtime:-auto}" in
    docker|local) echo "$runtime" ;;
    auto) if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker; else echo local; fi ;;
    *) echo "RUNTIME=$runtime is not one of auto, local, docker" >&2; exit 2 ;;
esac
