"""The data-platform profile's stores: PostgreSQL and Redis from Debian's packages.

`make up PROFILE=platform` installs them when missing (as root; otherwise it says what to
run). Both listen on the bind host only and require a password: the configured one, or one
generated once and kept (mode 600) in the state folder, like the JupyterLab token.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from ..config import Config, write_private

PACKAGES = {"postgres": "postgresql", "redis": "redis-server"}


class PlatformSetupError(RuntimeError):
    pass


def _missing(what: str, package: str) -> PlatformSetupError:
    return PlatformSetupError(f"{what} is not installed. `make up PROFILE=platform` installs it as root; "
                              f"otherwise run: sudo apt-get install {package}")


def require_installed(roles: list[str]) -> None:
    """Before anything starts: the Debian packages of the platform roles about to start."""
    if "postgres" in roles:
        postgres_bin()
    if "redis" in roles and shutil.which("redis-server") is None:
        raise _missing("Redis", PACKAGES["redis"])


# -- PostgreSQL -------------------------------------------------------------------
def postgres_bin() -> Path:
    """The newest installed server's bin folder (Debian keeps each major version apart)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise _missing("PostgreSQL", PACKAGES["postgres"])
    return versions[-1].parent


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise _missing("The `postgres` user (Debian's postgresql package)", PACKAGES["postgres"]) from None
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def postgres_data_dir(cfg: Config) -> Path:
    """Where the cluster's files live: in the state folder, unless the server runs as another user
    (root's checkout may sit below a folder that user cannot enter): then under /var/lib/scalelab."""
    if cfg.get("POSTGRES_DATA_DIR"):
        return Path(cfg.get("POSTGRES_DATA_DIR"))
    if os.geteuid() != 0:
        return cfg.state_dir / "postgres" / "data"
    tag = hashlib.sha256(str(cfg.state_dir).encode()).hexdigest()[:8]
    return Path("/var/lib/scalelab") / f"postgres-{tag}"


def ensure_postgres_cluster(cfg: Config) -> Path:
    """initdb once (the lab user as superuser, scram passwords), then create the lab database."""
    data = postgres_data_dir(cfg)
    if (data / "PG_VERSION").exists():
        return data
    bin_dir, run_as = postgres_bin(), _as_postgres()
    partial = data.with_name(data.name + ".partial")   # an interrupted initdb never looks complete
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.mkdir(mode=0o700)
    pwfile = write_private(partial.parent / f".{partial.name}.pw", cfg.postgres_password + "\n")
    if run_as:
        pw = pwd.getpwnam("postgres")
        for path in (partial, pwfile):
            os.chown(path, pw.pw_uid, pw.pw_gid)
    user, db = cfg.get("POSTGRES_USER"), cfg.get("POSTGRES_DB")
    try:
        _run([*run_as, str(bin_dir / "initdb"), "-D", str(partial), "-U", user, f"--pwfile={pwfile}",
              "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"], "initdb")
        _run([*run_as, str(bin_dir / "postgres"), "--single", "-D", str(partial), "postgres"], "CREATE DATABASE",
             stdin=f'CREATE DATABASE "{db}" OWNER "{user}";\n')
    finally:
        pwfile.unlink(missing_ok=True)
    os.replace(partial, data)
    return data


def _run(argv: list[str], what: str, stdin: str | None = None) -> None:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PlatformSetupError(f"PostgreSQL's {what} failed:\n" + (proc.stdout + proc.stderr)[-2000:])


def write_hba(cfg: Config, data: Path) -> None:
    """Who may connect, written at every start from the bind host: over loopback only when bound to
    it; from anywhere (a container's published port arrives from the network's gateway) when bound
    to every interface. A password is required either way."""
    sources = ["0.0.0.0/0", "::/0"] if cfg.binds_everywhere else ["127.0.0.1/32", "::1/128"]
    hba = data / "pg_hba.conf"
    stat = data.stat()
    hba.write_text("# written by scalelab at each start (cluster/platform.py)\n"
                   + "".join(f"host all all {src} scram-sha-256\n" for src in sources))
    if os.geteuid() == 0:
        os.chown(hba, stat.st_uid, stat.st_gid)


def postgres_argv(cfg: Config) -> list[str]:
    data = ensure_postgres_cluster(cfg)
    write_hba(cfg, data)
    return [*_as_postgres(), str(postgres_bin() / "postgres"), "-D", str(data),
            "-c", f"listen_addresses={cfg.bind_host}", "-p", str(cfg.port("POSTGRES_PORT")),
            # TCP only: no socket folder to share with another user; logs go to the service's log.
            "-c", "unix_socket_directories=", "-c", "logging_collector=off",
            # A laptop's lab database: small buffers, and a fast shutdown on SIGTERM (smart waits for clients).
            "-c", "shared_buffers=64MB", "-c", "max_connections=40"]


# -- Redis ------------------------------------------------------------------------
def redis_argv(cfg: Config) -> list[str]:
    server = shutil.which("redis-server")
    if server is None:
        raise _missing("Redis", PACKAGES["redis"])
    folder = cfg.state_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "redis.conf"
    # The password goes in a file of mode 600, not on the command line `ps` shows.
    write_private(conf, "\n".join([
        f"bind {cfg.bind_host}", f"port {cfg.port('REDIS_PORT')}", "protected-mode yes",
        f"requirepass {cfg.redis_password}", f"dir {folder}", "daemonize no", "logfile \"\"",
        # A feature store that a lab rebuilds from the stream: snapshots once a minute at most.
        "save 60 1000", "appendonly no", "maxmemory 256mb", "maxmemory-policy noeviction",
    ]) + "\n")
    return [server, str(conf)]
