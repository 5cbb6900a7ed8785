"""Keeps a set of processes running: starts them in dependency order, prefixes their output with their name,
restarts a crashed one with growing backoff, says when all are healthy, and stops them all cleanly.

`portal up` feeds it the services and the gateway; tests feed it small throwaway processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import grpc
import httpx
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

HealthKind = Literal["grpc", "http", "tcp"]
_LINE_LIMIT = 1 << 20
_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Health:
    """How to tell a process is ready: gRPC health `Check(service="")` is SERVING, an HTTP GET answers 200,
    or a TCP port accepts connections. `target` is host:port, or the URL for http."""

    kind: HealthKind
    target: str

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(_CHECK_SECONDS):
                if self.kind == "grpc":
                    return await _grpc_serving(self.target)
                if self.kind == "http":
                    async with httpx.AsyncClient(trust_env=False) as client:
                        return (await client.get(self.target)).status_code == 200
                host, _, port = self.target.rpartition(":")
                _, writer = await asyncio.open_connection(host, int(port))
                writer.close()
                return True
        except Exception:  # whatever went wrong, the answer is "not healthy"; the watcher must keep going
            return False

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "target": self.target}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Health:
        kind = data.get("kind")
        if kind not in ("grpc", "http", "tcp"):
            raise ValueError(f"unknown health check kind {kind!r}")
        return cls(kind=kind, target=str(data["target"]))


async def _grpc_serving(target: str) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    health: Health
    # processes that must be healthy before this one first starts (the gateway needs the services)
    needs: Sequence[str] = ()


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    # a run at least this long counts as stable, so its next crash is retried quickly again
    reset_after: float = 30.0


@dataclass
class _Child:
    spec: ProcessSpec
    proc: asyncio.subprocess.Process | None = None
    healthy: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: int = 0
    started_at: float = 0.0


class Supervisor:
    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        out: TextIO | None = None,
        backoff: Backoff | None = None,
        stop_grace: float = 10.0,
        health_interval: float = 0.25,
        state_file: Path | None = None,
        state: Mapping[str, Any] | None = None,
        on_ready: Callable[[Supervisor], None] | None = None,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be unique: {names}")
        for spec in specs:
            unknown = set(spec.needs) - set(names)
            if unknown:
                raise ValueError(f"{spec.name} needs unknown processes {sorted(unknown)}")
        self._children = {spec.name: _Child(spec) for spec in specs}
        self._out = out or sys.stdout
        self._width = max([len("portal"), *map(len, names)])
        self.backoff = backoff or Backoff()
        self.stop_grace = stop_grace
        self.health_interval = health_interval
        self.state_file = state_file
        self.state = dict(state or {})
        self._on_ready = on_ready
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()

    # -- what tests and the CLI look at

    def pid(self, name: str) -> int | None:
        proc = self._children[name].proc
        return proc.pid if proc is not None and proc.returncode is None else None

    def healthy(self, name: str) -> bool:
        return self._children[name].healthy.is_set()

    def restarts(self, name: str) -> int:
        return self._children[name].restarts

    def say(self, line: str, name: str = "portal") -> None:
        self._out.write(f"{name:<{self._width}} | {line}\n")
        self._out.flush()

    def stop(self) -> None:
        """Asks `run()` to stop everything and return; safe to call from a signal handler."""
        self._stopping.set()

    # -- running

    async def run(self) -> None:
        """Runs until `stop()` (or cancellation), then stops every child: SIGTERM, a grace period, SIGKILL."""
        self._write_state()
        keepers = [asyncio.create_task(self._keep_running(child)) for child in self._children.values()]
        watchers = [asyncio.create_task(self._watch_health(child)) for child in self._children.values()]
        watchers.append(asyncio.create_task(self._announce_ready()))
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            for task in watchers:
                task.cancel()
            await self._shutdown(keepers)
            await asyncio.gather(*watchers, *keepers, return_exceptions=True)
            if self.state_file is not None:
                self.state_file.unlink(missing_ok=True)
            self.say("all processes stopped")

    async def _shutdown(self, keepers: list[asyncio.Task[None]]) -> None:
        # Each keeper returns once its process is gone; one that was being spawned just now shows up here
        # a moment later and is signalled then.
        deadline = time.monotonic() + self.stop_grace
        signalled: set[int] = set()
        while not all(task.done() for task in keepers):
            late = time.monotonic() > deadline
            for name, child in self._children.items():
                proc = child.proc
                if proc is None or proc.returncode is not None:
                    continue
                if late:
                    self.say(f"{name} did not stop within {self.stop_grace:g}s; killing it")
                    _signal_group(proc.pid, signal.SIGKILL)
                elif proc.pid not in signalled:
                    _signal_group(proc.pid, signal.SIGTERM)
                    signalled.add(proc.pid)
            if late:
                deadline = time.monotonic() + 5.0
            await asyncio.wait(keepers, timeout=0.05)

    async def _keep_running(self, child: _Child) -> None:
        while not all(self._children[need].healthy.is_set() for need in child.spec.needs):
            if self._stopping.is_set():
                return
            await asyncio.sleep(self.health_interval)
        delay = self.backoff.initial
        while not self._stopping.is_set():
            child.started_at = time.monotonic()
            outcome = await self._run_once(child)
            if self._stopping.is_set():
                return
            if time.monotonic() - child.started_at >= self.backoff.reset_after:
                delay = self.backoff.initial
            child.restarts += 1
            self.say(f"{child.spec.name} {outcome}; restarting in {delay:g}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * self.backoff.factor, self.backoff.maximum)

    async def _run_once(self, child: _Child) -> str:
        spec = child.spec
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv,
                env=dict(spec.env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                # its own process group: the terminal's Ctrl-C reaches only us, so we stop things in order,
                # and a signal to the group also ends whatever the child started
                start_new_session=True,
                limit=_LINE_LIMIT,
            )
        except OSError as err:
            return f"could not start ({err})"
        child.proc = proc
        self.say(f"{spec.name} started (pid {proc.pid})")
        self._write_state()
        assert proc.stdout is not None
        pump = asyncio.create_task(self._pump(spec.name, proc.stdout))
        try:
            code = await proc.wait()
        finally:
            child.healthy.clear()
        self._write_state()
        # a grandchild that kept the pipe open must not hold us up
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pump), 1.0)
        pump.cancel()
        return f"exited with code {code}"

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line beyond the limit: show it in pieces rather than lose it
                raw = await stream.read(_LINE_LIMIT)
            if not raw:
                return
            self.say(raw.decode("utf-8", "replace").rstrip("\r\n"), name)

    async def _watch_health(self, child: _Child) -> None:
        while True:
            proc = child.proc
            if proc is not None and proc.returncode is None:
                ok = await child.spec.health.check()
                if ok and proc.returncode is None and child.proc is proc:
                    if not child.healthy.is_set():
                        self.say(f"{child.spec.name} is healthy (pid {proc.pid})")
                    child.healthy.set()
                elif child.healthy.is_set() and proc.returncode is None:
                    self.say(f"{child.spec.name} stopped answering its health check")
                    child.healthy.clear()
            # once everything is up, checking now and then is enough
            await asyncio.sleep(self.health_interval * (8 if self.ready.is_set() else 1))

    async def _announce_ready(self) -> None:
        started = noticed = time.monotonic()
        while not all(child.healthy.is_set() for child in self._children.values()):
            await asyncio.sleep(self.health_interval)
            if time.monotonic() - noticed >= 30.0:
                noticed = time.monotonic()
                slow = [name for name, child in self._children.items() if not child.healthy.is_set()]
                self.say(f"still waiting after {noticed - started:.0f}s for: {', '.join(slow)}")
        self.ready.set()
        self.state["ready"] = True
        self._write_state()
        if self._on_ready is not None:
            self._on_ready(self)
        else:
            self.say("ready")

    def _write_state(self) -> None:
        if self.state_file is None:
            return
        doc = {
            **self.state,
            "supervisor": {"pid": os.getpid(), "started": _process_start(os.getpid())},
            "processes": {
                name: {
                    "pid": self.pid(name),
                    "health": child.spec.health.as_json(),
                    "restarts": child.restarts,
                }
                for name, child in self._children.items()
            },
        }
        write_json(self.state_file, doc)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _process_start(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def supervisor_alive(state: Mapping[str, Any]) -> bool:
    """The supervisor that wrote `state` still runs (the same process, not a later one that got its pid)."""
    info = state.get("supervisor") or {}
    pid = info.get("pid")
    return isinstance(pid, int) and _process_start(pid) == info.get("started")


def write_json(path: Path, doc: Mapping[str, Any]) -> None:
    # written whole and renamed, so `portal status` never reads half a file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
