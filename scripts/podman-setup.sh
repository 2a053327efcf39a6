#!/usr/bin/env bash
# What `make test-compose` needs on a machine with no Docker engine and no registry:
# Podman and runc (Debian), podman-compose (PyPI), Podman's configuration, and a Debian
# bookworm base image made with debootstrap from the host's own Debian mirror.
# Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PODMAN_COMPOSE_VERSION=${PODMAN_COMPOSE_VERSION:-1.6.0}
BASE_IMAGE=${BASE_IMAGE:-localhost/scalelab-base:bookworm}
SUITE=${DEBIAN_SUITE:-bookworm}
VENV=.state/podman/venv

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "$1 needs root: run 'sudo $0' once (it installs Debian packages / writes /etc/containers)" >&2
        exit 1
    fi
}

missing=()
for cmd in podman runc debootstrap; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
if [ ${#missing[@]} -gt 0 ]; then
    need_root "installing ${missing[*]}"
    echo "== installing ${missing[*]} (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

# Podman's defaults here fail: crun is not what this machine runs, and the default ulimits
# exceed what an unprivileged sandbox may set. Only a missing file is written; an existing
# one must already say both (it is the administrator's).
conf=/etc/containers/containers.conf
if [ ! -f "$conf" ]; then
    need_root "writing $conf"
    mkdir -p /etc/containers
    cat > "$conf" <<'CONF'
# Written by scalelab's scripts/podman-setup.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
    echo "== wrote $conf"
elif ! grep -q '^ *runtime *= *"runc"' "$conf" || ! grep -q '^ *default_ulimits' "$conf"; then
    echo "$conf exists but does not set runtime = \"runc\" and default_ulimits;" \
         "add them (see scripts/podman-setup.sh)" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/podman-compose" ]; then
    echo "== installing podman-compose $PODMAN_COMPOSE_VERSION (PyPI)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "podman-compose==$PODMAN_COMPOSE_VERSION"
fi

# The base image: no registry answers here, so Debian is bootstrapped from the mirror the
# host's apt already uses (read from its sources, never written into the repository).
if ! podman image exists "$BASE_IMAGE"; then
    mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
             | grep -E '^(URIs:|deb )' | grep -v -- '-security' | grep -oE 'https?://[^ ]+' | head -1 || true)
    [ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt/sources*: set DEBIAN_MIRROR" >&2; exit 1; }
    mirror=${DEBIAN_MIRROR:-$mirror}
    root=.state/podman/rootfs
    rm -rf "$root"
    echo "== debootstrap $SUITE from the host's mirror into $root"
    start=$SECONDS
    debootstrap --variant=minbase "$SUITE" "$root" "$mirror" > .state/podman/debootstrap.log 2>&1 || {
        tail -20 .state/podman/debootstrap.log >&2; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$root"
    echo "== $BASE_IMAGE made in $((SECONDS - start)) s"
fi
