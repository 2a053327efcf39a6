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

from scalelab.config import Config, write_private

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
        _single_user(partial, f"CREATE DATABASE {_ident(db)} OWNER {_ident(user)};", "CREATE DATABASE")
    finally:
        pwfile.unlink(missing_ok=True)
    _write_login_stamp(cfg, partial)
    os.replace(partial, data)
    return data


# The cluster outlives the password it was made with: under /var/lib/scalelab it survives a
# deleted `.state` or a clone made again at the same path, and .env may change the password or
# user. The lab's login is a function of the configuration, so each start makes the cluster agree
# with it (in single-user mode, before the server listens), keeping every table.
LOGIN_STAMP = "scalelab-login.sha256"


def _login_fingerprint(cfg: Config) -> str:
    parts = (cfg.get("POSTGRES_USER"), cfg.get("POSTGRES_DB"), cfg.postgres_password)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _write_login_stamp(cfg: Config, data: Path) -> None:
    stamp = data / LOGIN_STAMP
    stamp.write_text(_login_fingerprint(cfg) + "\n")
    if os.geteuid() == 0:
        os.chown(stamp, data.stat().st_uid, data.stat().st_gid)


def sync_postgres_login(cfg: Config, data: Path) -> bool:
    """Give the configured user the configured password (creating the role and the lab database
    if .env names new ones). Returns whether anything had to be done."""
    stamp = data / LOGIN_STAMP
    if stamp.exists() and stamp.read_text().strip() == _login_fingerprint(cfg):
        return False
    user, db, password = cfg.get("POSTGRES_USER"), cfg.get("POSTGRES_DB"), cfg.postgres_password
    if "\n" in password or "\0" in password:
        raise PlatformSetupError("POSTGRES_PASSWORD must be one line of text")
    out = _single_user(data, "\n".join([
        f"DO $sl$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(user)}) "
        f"THEN CREATE ROLE {_ident(user)}; END IF; END$sl$;",
        f"ALTER ROLE {_ident(user)} WITH LOGIN SUPERUSER PASSWORD {_literal(password)};",
        f"SELECT 1 AS found FROM pg_database WHERE datname = {_literal(db)};"]), "ALTER ROLE")
    if 'found = "1"' not in out:
        _single_user(data, f"CREATE DATABASE {_ident(db)} OWNER {_ident(user)};", "CREATE DATABASE")
    _write_login_stamp(cfg, data)
    return True


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _single_user(data: Path, sql: str, what: str) -> str:
    """Statements (one per line) in single-user mode, on a stopped cluster. It exits 0 after a
    failed statement, so an ERROR in its output is the failure."""
    proc = subprocess.run([*_as_postgres(), str(postgres_bin() / "postgres"), "--single", "-D", str(data),
                           "postgres"], input=sql + "\n", capture_output=True, text=True)
    if proc.returncode != 0 or " ERROR: " in proc.stderr or " FATAL: " in proc.stderr:
        raise PlatformSetupError(f"PostgreSQL's {what} failed (in {data}):\n" + _without_secrets(proc.stderr)[-2000:])
    return proc.stdout


def _without_secrets(text: str) -> str:
    """The server echoes a failed statement; a password must not reach the log."""
    return "\n".join(line for line in text.splitlines() if "PASSWORD" not in line.upper())


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
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
    sync_postgres_login(cfg, data)
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
