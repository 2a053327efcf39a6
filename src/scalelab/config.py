"""Configuration in one place: environment variables with defaults, overridable in `.env`.

Precedence: the process environment, then `.env` at the repository root, then the
defaults below. Every port and size the stack uses is a `Setting` here, so the CLI,
the local runtime, compose and the connection helpers all read the same values.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from dotenv import dotenv_values

KAFKA_VERSION = "4.4.0"  # keep in step with docker/kafka/pom.xml


RUNTIMES = ("auto", "local", "docker")


def address_host_port(address: str) -> tuple[str, int]:
    """Host and port of a service address: spark://h:7077, tcp://h:8786, ray://h:10001, h:9092,a:b -> h."""
    rest = address.split("://", 1)[-1].split(",", 1)[0]
    host, _, port = rest.rpartition(":")
    return host.strip("[]"), int(port)


def address_host(address: str) -> str:
    return address_host_port(address)[0]


def write_private(path: Path, text: str | bytes, replace: bool = True) -> Path:
    """Write a file only its owner may read (mode 600 from its creation, never wider), atomically:
    a reader sees the old content or the new, never a half-written password. With replace=False an
    existing file is kept and FileExistsError raised: of writers racing to create it, the first wins.
    Bytes are written as they are (a key store), text as text."""
    mode = "wb" if isinstance(text, bytes) else "w"
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp: mode 600, and a name of its own for every writer (processes and threads alike).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            fh.write(text)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)      # never replaces
            except FileExistsError:
                raise
            except OSError:
                # A file system without hard links (some network and VM shares): O_EXCL creates
                # only if absent, as atomically; a reader may see it empty for a moment (kept_secret waits).
                fd_new = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd_new, mode) as fh:
                    fh.write(text)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def private_dir(path: Path, what: str | None = None, fix: str = "Remove it") -> Path:
    """A folder only its owner may enter (0700), made so, or tightened if it is ours and wider.

    With `what` (a folder at a name others may know or race for: Ray's in /tmp, a token's) it
    must be this user's own folder: a link, a file or another user's folder is refused, since
    whoever made it first could read or replace what we put in it. Without it (.state/secrets,
    which compose mounts read-only) a mode we cannot change is left to whoever owns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if what is not None and (stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode)
                             or info.st_uid != os.getuid()):
        kind = "a link" if stat.S_ISLNK(info.st_mode) else "not a folder" if not stat.S_ISDIR(info.st_mode) \
            else f"owned by uid {info.st_uid}, not by this user (uid {os.getuid()})"
        raise ConfigError(f"{what} {path} exists and is {kind}: another user may have made it first. {fix}.")
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError:
            if what is not None:
                raise
    return path


# The trips dashboard serves under a path of its own (Dash's url_base_pathname), the same on its
# own port and behind JupyterLab's proxy, which passes the path through unchanged: Dash's page
# names its scripts and callbacks by absolute paths, so a proxy that strips a prefix breaks it.
DASHBOARD_BASE_PATH = "/dashboard/"

KAFKA_CLIENTS = ("kafka-python", "confluent")


class ConfigError(ValueError):
    """A configuration value is unusable; the message says which and how to fix it."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    kind: str = "str"  # "str" | "port" | "int"


SETTINGS: tuple[Setting, ...] = (
    Setting("SCALELAB_BIND_HOST", "127.0.0.1",
            "Interface every service listens on. Keep loopback unless you know who can reach you."),
    # Spark's master, Dask's scheduler and Kafka's broker run whatever a client sends: with this
    # on they ask for credentials (cluster/credentials.py); beyond loopback `up` requires it.
    Setting("SCALELAB_AUTH", "off", "Credentials on the Spark, Dask and Kafka ports: on or off (needed beyond loopback)"),
    # Which runtime `make up` uses: docker (compose.yaml) when a Docker engine answers, else local.
    Setting("RUNTIME", "auto", "Runtime of the stack: auto, local (processes) or docker (compose.yaml)"),
    Setting("SCALELAB_STATE_DIR", "", "Where jars, logs, pids and service data live (default: .state)."),
    Setting("SCALELAB_DATA_DIR", "", "Where generated data sets live (default: datasets/)."),
    Setting("SCALELAB_RESULTS_DIR", "", "Where benchmark results and reports go (default: results/)."),
    # Spark standalone
    Setting("SPARK_MASTER_PORT", "7077", "Spark master RPC port", "port"),
    Setting("SPARK_MASTER_WEBUI_PORT", "8080", "Spark master web UI", "port"),
    Setting("SPARK_WORKER_WEBUI_PORT", "8081", "Spark worker web UI", "port"),
    Setting("SPARK_UI_PORT", "4040", "First port of the applications' UIs (each driver takes the next free one)",
            "port"),
    Setting("SPARK_UI_PORTS", "16", "How many ports after SPARK_UI_PORT the applications' UIs may try", "int"),
    Setting("SPARK_HISTORY_PORT", "18080", "Spark history server (finished applications' UIs)", "port"),
    # Task slots, not CPUs: twice the application's share, so that two applications (two
    # notebooks, or the test suite and a notebook) run side by side instead of one waiting.
    Setting("SPARK_WORKER_CORES", "4", "Task slots the Spark worker offers (two applications' worth)", "int"),
    Setting("SPARK_APP_CORES", "2", "Cores each Spark application takes (spark.cores.max)", "int"),
    Setting("SPARK_WORKER_MEMORY", "2g", "Memory the Spark worker offers to executors"),
    Setting("SPARK_EXECUTOR_MEMORY", "1g", "Memory of each executor the helpers ask for"),
    # Short-lived lab JVMs start faster with the C1 compiler only and the serial collector (measured:
    # getOrCreate 13-20 s -> 11-13 s, a first job 7-9 s -> 5-6.5 s); empty it for long jobs on big data.
    Setting("SPARK_APP_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
            "JVM options of each application's driver and executors"),
    # The bench measures throughput, where C1 alone is the wrong trade: its code is slower once warm,
    # and the serial collector stops the world for every young collection. Join at small, memory mode,
    # q1-q5 warm sum: 26.3 s with the options above, 12.6 s with G1 and the full JIT, 10.8 s with the
    # parallel collector (scalelab bench --suite join --engines spark --mode memory, 2026-12-07).
    Setting("SPARK_BENCH_JAVA_OPTIONS", "-XX:+UseParallelGC",
            "JVM options of the bench's Spark driver and executors (instead of SPARK_APP_JAVA_OPTIONS)"),
    Setting("SPARK_DAEMON_MEMORY", "512m", "Heap of the Spark master and worker daemons"),
    # Dask
    Setting("DASK_SCHEDULER_PORT", "8786", "Dask scheduler port", "port"),
    Setting("DASK_DASHBOARD_PORT", "8787", "Dask dashboard", "port"),
    Setting("DASK_WORKERS", "2", "Number of Dask workers", "int"),
    Setting("DASK_WORKER_THREADS", "1", "Threads per Dask worker", "int"),
    Setting("DASK_WORKER_MEMORY", "2GiB", "Memory limit per Dask worker"),
    # Ray
    Setting("RAY_GCS_PORT", "6379", "Ray head (GCS) port", "port"),
    Setting("RAY_DASHBOARD_PORT", "8265", "Ray dashboard", "port"),
    Setting("RAY_CLIENT_PORT", "10001", "Ray Client server port", "port"),
    Setting("RAY_NUM_CPUS", "2", "CPUs the Ray head offers", "int"),
    Setting("RAY_OBJECT_STORE_MEMORY", "536870912", "Ray object store size in bytes", "int"),
    Setting("RAY_TEMP_DIR", "", "Ray's session folder (default: a short path under /tmp; unix sockets need one)"),
    # Kafka
    Setting("KAFKA_PORT", "9092", "Kafka broker port", "port"),
    Setting("KAFKA_CONTROLLER_PORT", "9093", "Kafka KRaft controller port", "port"),
    Setting("KAFKA_HEAP", "512m", "Kafka broker JVM heap"),
    Setting("KAFKA_ADVERTISED_HOST", "", "Host name clients are told to use (default: where clients reach the bind host)"),
    # In compose, containers reach the broker by its service name and the host through the published
    # port: two listeners, each advertising the address its clients can reach.
    Setting("KAFKA_INTERNAL_LISTENER", "", "host:port of a second listener for clients inside a container network"),
    # kafka-python is what the labs teach; librdkafka (confluent-kafka) moves the bulk paths
    # (streaming.produce and read_topic) several times faster, for big scales.
    Setting("SCALELAB_KAFKA_CLIENT", "kafka-python", "Client of streaming.produce and read_topic: kafka-python "
            "(what the labs teach) or confluent (librdkafka, faster)"),
    # JupyterLab
    Setting("JUPYTER_PORT", "8888", "JupyterLab port", "port"),
    Setting("SCALELAB_UI_HOST", "", "Where JupyterLab's proxy reaches the services' UIs (empty: this machine; "
            "compose: '{service}', each service's own name)"),
    Setting("JUPYTER_TOKEN", "", "JupyterLab token (default: generated once, kept in the state folder)"),
    # The model service (foundations track: model deployment)
    Setting("MODEL_API_PORT", "8100", "model-api port (the churn model behind FastAPI)", "port"),
    Setting("MODEL_API_TRAIN_SCALE", "tiny", "Scale of the tabular data the served model is trained on"),
    # The trips dashboard (foundations track: visualisation)
    Setting("DASHBOARD_PORT", "8050", "Dashboard port (Dash app on the trips data set)", "port"),
    Setting("DASHBOARD_SCALE", "tiny", "Scale of the trips data the dashboard shows"),
    # The data-platform profile (make up PROFILE=platform)
    Setting("POSTGRES_PORT", "5432", "PostgreSQL port (platform profile)", "port"),
    # Where clients reach the stores: this machine's client host, or a service name inside compose.
    Setting("POSTGRES_HOST", "", "Where clients reach PostgreSQL (default: the client host; compose: postgres)"),
    Setting("POSTGRES_USER", "lab", "PostgreSQL user the labs connect as (owner of POSTGRES_DB)"),
    Setting("POSTGRES_DB", "lab", "PostgreSQL database of the labs"),
    Setting("POSTGRES_PASSWORD", "", "PostgreSQL password (default: generated once, kept in the state folder)"),
    Setting("POSTGRES_DATA_DIR", "", "PostgreSQL's cluster folder (default: in the state folder; as root, /var/lib/scalelab)"),
    # Not Redis's 6379: that is Ray's GCS port here.
    Setting("REDIS_PORT", "6380", "Redis port (platform profile)", "port"),
    Setting("REDIS_HOST", "", "Where clients reach Redis (default: the client host; compose: redis)"),
    Setting("REDIS_PASSWORD", "", "Redis password (default: generated once, kept in the state folder)"),
    # Apache Airflow (platform profile): its own venv; the metadata database is on POSTGRES_PORT.
    Setting("AIRFLOW_PORT", "8090", "Airflow API server and UI (platform profile; 8080 is Spark's)", "port"),
    Setting("AIRFLOW_ADMIN_USER", "admin", "Airflow's admin user (SimpleAuthManager)"),
    Setting("AIRFLOW_ADMIN_PASSWORD", "", "Airflow admin's password (default: generated once, kept in the state folder)"),
    Setting("AIRFLOW_VENV", "", "Airflow's virtual environment (default: .state/airflow/venv)"),
    Setting("AIRFLOW_API_HOST", "", "Where Airflow's tasks reach the API server (default: the client host; compose: airflow-api)"),
    # Timeouts
    Setting("SCALELAB_START_TIMEOUT", "120", "Seconds a service may take to become healthy", "int"),
    # Services that idle most of a session (Spark's history server, the dashboard, the model-api)
    # start on their first request; the first two stop again when unused (scalelab.cluster.ondemand).
    Setting("SCALELAB_ON_DEMAND", "on",
            "on: the history server, dashboard and model-api start on first request; off: at up"),
    Setting("SCALELAB_ON_DEMAND_IDLE", "900", "Seconds unused before an on-demand service stops (0: never)", "int"),
    # A cluster engine's session kept between `scalelab run` commands (scalelab.warm).
    Setting("SCALELAB_WARM_IDLE", "120", "Seconds a cluster engine's warm runner (scalelab run) waits for its next "
            "request before it exits and frees its cores", "int"),
    # The labs tier: most of a lab's time is waiting on the cluster (a DAG run, a restart, a JVM),
    # so two kernels at once keep both cores busy; a lab marked exclusive has only
    # single-machine labs beside it (notebooks.run_all).
    Setting("SCALELAB_LAB_LANES", "2", "Lab notebooks the tests execute at once, each in its own kernel", "int"),
)

_BY_NAME = {s.name: s for s in SETTINGS}

# Secrets generated once into the state folder when not configured. scripts/compose.sh makes the
# same files before containers start (they mount the folder read-only); a unit test keeps the two lists equal.
KEPT_SECRETS = ("jupyter-token", "ray-token", "postgres-password", "redis-password", "airflow-admin-password",
                "airflow-jwt-secret", "airflow-secret-key", "airflow-fernet-seed",
                # SCALELAB_AUTH=on: Spark's shared secret, Kafka's SASL password and its key store's.
                "spark-secret", "kafka-password", "kafka-keystore-password")


def repo_root() -> Path:
    """The checkout the package runs from (the folder holding pyproject.toml)."""
    env = os.environ.get("SCALELAB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "scalelab").is_dir():
            return parent
    return Path.cwd()


class Config:
    """Resolved settings. Build one with `Config.load()`; it never changes afterwards."""

    def __init__(self, values: dict[str, str], root: Path):
        self.root = root
        self._values = values
        for name, raw in values.items():
            setting = _BY_NAME.get(name)
            if setting is not None and setting.kind in ("port", "int"):
                _parse_int(setting, raw)

    @classmethod
    def load(cls, root: Path | None = None, environ: dict[str, str] | None = None) -> "Config":
        root = root or repo_root()
        environ = dict(os.environ if environ is None else environ)
        dotenv_file = root / ".env"
        from_file = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None} if dotenv_file.exists() else {}
        values = {}
        for s in SETTINGS:
            values[s.name] = environ.get(s.name) or from_file.get(s.name) or s.default
        # The client-facing addresses may point at an external cluster; kept verbatim.
        for name in ("SPARK_MASTER_URL", "DASK_SCHEDULER_ADDRESS", "RAY_ADDRESS", "KAFKA_BOOTSTRAP_SERVERS"):
            val = environ.get(name) or from_file.get(name)
            if val:
                values[name] = val
        return cls(values, root)

    def values(self) -> dict[str, str]:
        """Every setting as resolved (environment, then .env, then default): what a child process
        given them as its environment resolves to as well."""
        return dict(self._values)

    def get(self, name: str) -> str:
        return self._values[name]

    def with_values(self, **values: str) -> "Config":
        """The same configuration with some settings replaced (a service seen from elsewhere)."""
        return Config({**self._values, **values}, self.root)

    def int(self, name: str) -> int:
        return _parse_int(_BY_NAME[name], self._values[name])

    def port(self, name: str) -> int:
        return self.int(name)

    # -- places ---------------------------------------------------------------
    @cached_property
    def state_dir(self) -> Path:
        raw = self._values.get("SCALELAB_STATE_DIR") or ""
        return Path(raw).resolve() if raw else self.root / ".state"

    @property
    def uv(self) -> Path | None:
        """uv, for a tool run in an environment of its own (`uv run --with`): on PATH, or the one
        `make setup` put under the state folder; None when neither is there."""
        import shutil

        found = shutil.which("uv") or str(self.state_dir / "bootstrap" / "bin" / "uv")
        return Path(found) if os.access(found, os.X_OK) else None

    @property
    def data_dir(self) -> Path:
        raw = self._values.get("SCALELAB_DATA_DIR") or ""
        return Path(raw).resolve() if raw else self.root / "datasets"

    @property
    def results_dir(self) -> Path:
        raw = self._values.get("SCALELAB_RESULTS_DIR") or ""
        return Path(raw).resolve() if raw else self.root / "results"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def spark_events_dir(self) -> Path:
        """Where Spark applications write their event logs and the history server reads them."""
        return self.state_dir / "spark" / "events"

    @property
    def jars_dir(self) -> Path:
        return self.state_dir / "jars"

    @property
    def venv_bin(self) -> Path:
        return self.root / ".venv" / "bin"

    @cached_property
    def ray_temp_dir(self) -> Path:
        # Ray puts unix sockets under its temp dir; their paths must stay under
        # 108 bytes, so a deep checkout cannot hold it. One short folder per checkout, private to
        # its user (Ray's own folder, which Ray makes 0777, is `ray/` inside it).
        raw = self._values.get("RAY_TEMP_DIR") or ""
        if raw:
            return Path(raw)
        import hashlib
        tag = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:8]
        # The user's id in the name too: two users' checkouts never share (or race for) one folder.
        return Path("/tmp") / f"scalelab-ray-{os.getuid()}-{tag}"

    # -- addresses ------------------------------------------------------------
    @property
    def bind_host(self) -> str:
        return self.get("SCALELAB_BIND_HOST")

    @property
    def runtime(self) -> str:
        value = self.get("RUNTIME")
        if value not in RUNTIMES:
            raise ConfigError(f"RUNTIME={value!r} is not one of {', '.join(RUNTIMES)}. Fix it in the environment or in .env.")
        return value

    @cached_property
    def advertise_host(self) -> str:
        """The address other machines (other containers) reach this one's services at.

        A specific bind host is its own answer. Bound to every interface (in a container),
        it is this machine's address on its network: a Spark worker registered as 0.0.0.0,
        or a driver that tells executors to call 127.0.0.1, is unreachable from elsewhere.
        """
        if not self.binds_everywhere:
            return self.bind_host
        import socket
        try:
            return socket.gethostbyname(socket.gethostname())
        except OSError:
            return "127.0.0.1"

    @property
    def auth(self) -> bool:
        """SCALELAB_AUTH: credentials on the engine ports (Spark, Dask, Kafka)."""
        return self.on_off("SCALELAB_AUTH")

    @property
    def on_demand(self) -> bool:
        """SCALELAB_ON_DEMAND: the services that can start on their first request do so."""
        return self.on_off("SCALELAB_ON_DEMAND")

    def on_off(self, name: str) -> bool:
        """A setting that is on or off; anything else is an error that says where to fix it."""
        value = self.get(name).strip().lower()
        if value not in ("on", "off"):
            raise ConfigError(f"{name}={self.get(name)!r} is neither on nor off. Fix it in the environment or in .env.")
        return value == "on"

    @property
    def kafka_client(self) -> str:
        """SCALELAB_KAFKA_CLIENT: which Kafka client streaming's producer and reader use."""
        value = self.get("SCALELAB_KAFKA_CLIENT").strip().lower()
        if value not in KAFKA_CLIENTS:
            raise ConfigError(f"SCALELAB_KAFKA_CLIENT={self.get('SCALELAB_KAFKA_CLIENT')!r} is none of "
                              f"{', '.join(KAFKA_CLIENTS)}. Fix it in the environment or in .env.")
        return value

    @property
    def binds_everywhere(self) -> bool:
        """Bound to every interface (in a container): clients come from other machines too."""
        return self.bind_host in ("0.0.0.0", "::", "")

    @property
    def client_host(self) -> str:
        """Where clients on this machine reach a service bound to `bind_host`."""
        return "127.0.0.1" if self.binds_everywhere else self.bind_host

    @property
    def spark_master_url(self) -> str:
        return self._values.get("SPARK_MASTER_URL") or f"spark://{self.client_host}:{self.port('SPARK_MASTER_PORT')}"

    @property
    def dask_scheduler_address(self) -> str:
        address = self._values.get("DASK_SCHEDULER_ADDRESS") or f"tcp://{self.client_host}:{self.port('DASK_SCHEDULER_PORT')}"
        # With credentials on, the scheduler speaks TLS only: the scheme follows the stack's setting.
        if self.auth and address.startswith("tcp://"):
            address = "tls://" + address[len("tcp://"):]
        return address

    @property
    def ray_address(self) -> str:
        return self._values.get("RAY_ADDRESS") or f"{self.client_host}:{self.port('RAY_GCS_PORT')}"

    @property
    def kafka_bootstrap_servers(self) -> str:
        return self._values.get("KAFKA_BOOTSTRAP_SERVERS") or f"{self.client_host}:{self.port('KAFKA_PORT')}"

    def dashboard_url(self, path: str = "") -> str:
        """The trips dashboard's URL: Dash serves under DASHBOARD_BASE_PATH on its port."""
        return self.url("DASHBOARD_PORT", DASHBOARD_BASE_PATH + path)

    def url(self, port_setting: str, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.client_host}:{self.port(port_setting)}{path}"

    @property
    def jupyter_login_url(self) -> str:
        """The ready-to-click JupyterLab URL, token included."""
        return self.url("JUPYTER_PORT", f"/lab?token={self.jupyter_token}")

    # -- secrets --------------------------------------------------------------
    def kept_secret(self, filename: str) -> str:
        """A token generated once and kept (mode 600) in the state folder.

        The first process to create it wins: `up` starts every role at once, and PostgreSQL's
        initdb, Airflow's database URL and the health probe all ask for the same password on a
        fresh clone. A plain write would let a later process replace the password the cluster
        was made with. os.link never replaces, so the losers read the winner's file.
        """
        if filename not in KEPT_SECRETS:
            raise ValueError(f"{filename!r} is not in config.KEPT_SECRETS (scripts/compose.sh makes those)")
        path = self.secrets_dir / filename
        if not (path.exists() and path.read_text().strip()):
            token = secrets.token_hex(24) + "\n"
            try:
                write_private(path, token, replace=False)
            except FileExistsError:
                # Another process made it; where hard links are missing it may not have written yet.
                deadline = time.monotonic() + 2.0
                while not path.read_text().strip() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not path.read_text().strip():  # still empty (a truncated copy): replace it
                    write_private(path, token)
        return path.read_text().strip()

    @property
    def secrets_dir(self) -> Path:
        """.state/secrets, mode 0700 in both runtimes (a listing of it says which services have passwords)."""
        return private_dir(self.state_dir / "secrets")

    @property
    def jupyter_token(self) -> str:
        return self.get("JUPYTER_TOKEN") or self.kept_secret("jupyter-token")

    @property
    def postgres_password(self) -> str:
        return self.get("POSTGRES_PASSWORD") or self.kept_secret("postgres-password")

    @property
    def postgres_params(self) -> dict:
        """The lab database's connection parameters (psycopg's keywords)."""
        return {"host": self.get("POSTGRES_HOST") or self.client_host, "port": self.port("POSTGRES_PORT"),
                "user": self.get("POSTGRES_USER"),
                "password": self.postgres_password, "dbname": self.get("POSTGRES_DB")}

    def postgres_uri(self, scheme: str = "postgresql", dbname: str | None = None) -> str:
        """The same as a URI: `postgresql` (libpq, ADBC) or `postgresql+psycopg` (SQLAlchemy).
        User and password are percent-encoded: a password from .env may hold '@' or '/'."""
        from urllib.parse import quote

        p = self.postgres_params
        return (f"{scheme}://{quote(p['user'], safe='')}:{quote(p['password'], safe='')}@{p['host']}:{p['port']}/"
                f"{dbname or p['dbname']}")

    @property
    def postgres_url(self) -> str:
        """SQLAlchemy's URL of the lab database (psycopg 3)."""
        return self.postgres_uri("postgresql+psycopg")

    @property
    def redis_password(self) -> str:
        return self.get("REDIS_PASSWORD") or self.kept_secret("redis-password")

    @property
    def redis_params(self) -> dict:
        """The platform Redis's connection parameters (redis-py's keywords)."""
        return {"host": self.get("REDIS_HOST") or self.client_host, "port": self.port("REDIS_PORT"),
                "password": self.redis_password}

    @property
    def airflow_api_host(self) -> str:
        """Where clients reach Airflow's API server: here, or `airflow-api` inside compose."""
        return self.get("AIRFLOW_API_HOST") or self.client_host

    @property
    def airflow_admin_password(self) -> str:
        return self.get("AIRFLOW_ADMIN_PASSWORD") or self.kept_secret("airflow-admin-password")

    @property
    def ray_token_path(self) -> Path:
        self.kept_secret("ray-token")
        return self.secrets_dir / "ray-token"

    def client_env(self) -> dict[str, str]:
        """What a client (a notebook kernel, a test) needs to find and join the stack."""
        env = {
            "SCALELAB_ROOT": str(self.root),
            "SPARK_MASTER_URL": self.spark_master_url,
            "DASK_SCHEDULER_ADDRESS": self.dask_scheduler_address,
            "RAY_ADDRESS": self.ray_address,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            # Whether the engines ask for credentials (the clients then present them).
            "SCALELAB_AUTH": "on" if self.auth else "off",
            # Ray clients must present the head's token (RAY_AUTH_MODE is cluster-wide).
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(self.ray_token_path),
            # jupysql (the %sql magics) reports usage to its vendor unless told not to.
            "PLOOMBER_STATS_ENABLED": "false",
        }
        if self.bind_host.startswith("127."):
            # Ray swaps a loopback node address for the machine's external one (so that
            # other nodes could join) unless told the cluster is single-node, as on macOS.
            # Head and drivers must agree, or a driver looks for a raylet that is not there.
            env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        return env

    def ray_env(self) -> dict[str, str]:
        """The Ray variables every Ray process of the stack shares, head and drivers alike
        (the address aside: the head does not dial itself)."""
        return {k: v for k, v in self.client_env().items() if k.startswith("RAY_") and k != "RAY_ADDRESS"}


def _parse_int(setting: Setting, raw: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{setting.name}={raw!r} is not a whole number ({setting.help}). "
                          f"Fix it in the environment or in .env.") from None
    if setting.kind == "port" and not 1 <= value <= 65535:
        raise ConfigError(f"{setting.name}={value} is not a TCP port (1-65535). Fix it in the environment or in .env.")
    if setting.kind == "int" and value < 1:
        raise ConfigError(f"{setting.name}={value} must be at least 1.")
    return value
