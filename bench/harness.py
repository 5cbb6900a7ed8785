"""What the benchmarks share: a portal of their own in a temporary data directory, signed-in sessions, a load
generator (wrk when installed, else a small asyncio/httpx one), the bare baseline server, and bench/README.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from kit import demo

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
HOUSEHOLD = "jana@volta.example"
BUSINESS = "firma@volta.example"
HOST = "volta.localhost"
READY_TIMEOUT = 300.0
# a start that takes longer than this is stuck, not slow (the target is 20 s)
START_TIMEOUT = 120.0
GiB = 1 << 30


# --- the machine and the record ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "ram": f"{psutil.virtual_memory().total / GiB:.1f} GiB",
        "cpu": model,
        "os": platform.system(),
        "python": platform.python_version(),
        "load": " / ".join(f"{x:.2f}" for x in load),
    }


def describe(m: dict[str, str]) -> str:
    return (
        f"{m['date']} · {m['cores']} cores ({m['cpu']}), {m['ram']} RAM, {m['os']}, Python {m['python']} · "
        f"load average before the run (1/5/15 min): {m['load']}"
    )


def command_line() -> str:
    module = sys.modules["__main__"].__spec__
    name = module.name if module else Path(sys.argv[0]).stem
    return " ".join(["python -m " + name, *sys.argv[1:]])


def record(key: str, body: str) -> None:
    """Replaces the `key` section of bench/README.md (between its markers), appending it when new."""
    begin, end = f"<!-- BEGIN {key} -->", f"<!-- END {key} -->"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)
    print(f"recorded in {README.relative_to(ROOT)} [{key}]")


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-record", action="store_true", help="print the figures, leave bench/README.md alone")


def load_args(parser: argparse.ArgumentParser) -> None:
    common_args(parser)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per page (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before each (default 5)")
    parser.add_argument("--sessions", type=int, default=32, help="concurrent signed-in sessions (default 32)")
    parser.add_argument(
        "--generator",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator: wrk when installed (cheapest on CPU), else the built-in asyncio/httpx one",
    )


# --- a portal of our own -----------------------------------------------------------------------------------


def portal_argv() -> list[str]:
    script = Path(sys.executable).with_name("portal")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kit.cli"]


@dataclass
class Portal:
    """`portal up --data-dir DIR` as a child process; its output goes to DIR/../bench-portal-N.log."""

    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    http_port: int = 0
    ready_seconds: float = 0.0
    _log: Path | None = None

    def start(self, timeout: float = READY_TIMEOUT) -> float:
        """Starts the portal and returns the seconds from spawning `portal up` to its `ready` line."""
        env = {k: v for k, v in os.environ.items() if k not in ("PORTAL_DATABASE_URL", "PORTAL_NATS_URL")}
        # the demo's invoicing history would render documents in the background while a benchmark measures
        env.setdefault("PORTAL_DEMO_INVOICES", "0")
        self._log = self.data_dir.with_name(self.data_dir.name + f"-{int(time.time() * 1000)}.log")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*portal_argv(), "up", "--data-dir", str(self.data_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        ready = threading.Event()
        found: dict[str, float | str] = {}

        def drain() -> None:
            assert self.proc is not None and self.proc.stdout is not None and self._log is not None
            with self._log.open("wb") as log:
                for line in self.proc.stdout:
                    log.write(line)
                    log.flush()
                    if not ready.is_set() and b"ready \xe2\x80\x94" in line:
                        found["at"] = time.perf_counter()
                        found["line"] = line.decode(errors="replace")
                        ready.set()

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"portal did not get ready; its output:\n{self.log_tail()}")
        self.ready_seconds = float(found["at"]) - started
        match = re.search(r"http://[^/\s]+:(\d+)/", str(found["line"]))
        if not match:
            raise RuntimeError(f"no URL in the ready line: {found['line']!r}")
        self.http_port = int(match.group(1))
        return self.ready_seconds

    def log_tail(self, lines: int = 40) -> str:
        if self._log is None or not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # what `portal down` does; sent from here because `down` would wait on our unreaped child forever
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@contextlib.contextmanager
def temp_data_dir() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    try:
        yield parent / "data"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@contextlib.contextmanager
def running_portal(attempts: int = 3) -> Iterator[Portal]:
    """A fresh portal for a benchmark. A start that fails is retried in a new directory: on a shared machine
    another portal may take a port between `portal up` choosing it and the service binding it."""
    for attempt in range(1, attempts + 1):
        with temp_data_dir() as data_dir:
            portal = Portal(data_dir)
            print("starting a portal in a temporary data directory …", flush=True)
            try:
                portal.start(timeout=START_TIMEOUT)
            except RuntimeError as err:
                if attempt == attempts:
                    raise
                print(f"the portal did not start (attempt {attempt}), trying again:\n{err}", flush=True)
                continue
            print(f"portal ready in {portal.ready_seconds:.1f} s on port {portal.http_port}", flush=True)
            try:
                yield portal
            finally:
                portal.stop()
            return


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def hello_server() -> Iterator[tuple[str, int]]:
    """The bare Litestar baseline in its own uvicorn process; yields its URL and pid."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.hello", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/hello"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, trust_env=False).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bare Litestar server did not start")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- signed-in sessions ------------------------------------------------------------------------------------


async def _sign_in(base_url: str, host: str, email: str, landing: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, headers={"Host": host}, trust_env=False, timeout=60) as c:
        page = await c.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        if not token:
            raise RuntimeError(f"no sign-in form at /login ({page.status_code})")
        resp = await c.post(
            "/login",
            data={"_csrf_token": token.group(1), "email": email, "password": demo.DEMO_PASSWORD, "next": landing},
        )
        if resp.status_code not in (302, 303):
            raise RuntimeError(f"sign-in of {email} failed: {resp.status_code}")
        # the first page picks the acting-for customer number into the session; later cookies carry it
        page = await c.get(landing)
        if page.status_code != 200:
            raise RuntimeError(f"{landing} answered {page.status_code} after signing in {email}")
        return "; ".join(f"{name}={value}" for name, value in c.cookies.items())


def sign_in(base_url: str, email: str, sessions: int, host: str = HOST, landing: str = "/dashboard") -> list[str]:
    """`sessions` separate sign-ins of `email`; each Cookie header is one browser's session."""

    async def all_of_them() -> list[str]:
        gate = asyncio.Semaphore(4)

        async def one() -> str:
            async with gate:
                return await _sign_in(base_url, host, email, landing)

        return list(await asyncio.gather(*(one() for _ in range(sessions))))

    return asyncio.run(all_of_them())


def fetch(base_url: str, path: str, cookie: str, host: str = HOST) -> httpx.Response:
    return httpx.get(base_url + path, headers={"Host": host, "Cookie": cookie}, trust_env=False, timeout=60)


def expect_page(base_url: str, path: str, cookies: Sequence[str], *texts: str, host: str = HOST) -> None:
    """Every session gets `path` as a 200 page showing `texts` — so the load measures real pages, not redirects."""
    for cookie in cookies:
        resp = fetch(base_url, path, cookie, host)
        if resp.status_code != 200 or any(t not in resp.text for t in texts):
            raise RuntimeError(f"{path} answered {resp.status_code} without the expected content")


# --- load --------------------------------------------------------------------------------------------------

BUCKET_MS = 0.1  # latency histogram resolution


@dataclass(frozen=True)
class Load:
    label: str
    generator: str
    connections: int
    seconds: float
    ok: int
    failed: int
    # latency histogram of every answered request: (bucket, count), bucket = latency in units of BUCKET_MS
    histogram: tuple[tuple[int, int], ...]
    # CPU seconds in the measured window: the load generator's, each measured process kind's, and the whole
    # machine's (so what other programs took shows too)
    generator_cpu: float = 0.0
    cpu: tuple[tuple[str, float], ...] = ()
    machine_cpu: float = 0.0

    @property
    def rate(self) -> float:
        """Successful (200) responses per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def answered(self) -> int:
        return sum(c for _, c in self.histogram)

    @property
    def mean_ms(self) -> float:
        n = self.answered
        return sum((b + 0.5) * c for b, c in self.histogram) * BUCKET_MS / n if n else 0.0

    def percentile_ms(self, q: float) -> float:
        n = self.answered
        if not n:
            return 0.0
        rank, seen = q / 100 * n, 0
        for bucket, count in self.histogram:
            seen += count
            if seen >= rank:
                return (bucket + 1) * BUCKET_MS
        return (self.histogram[-1][0] + 1) * BUCKET_MS

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p90_ms(self) -> float:
        return self.percentile_ms(90)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99)

    @property
    def max_ms(self) -> float:
        return (self.histogram[-1][0] + 1) * BUCKET_MS if self.histogram else 0.0

    def cpu_ms_per_page(self) -> dict[str, float]:
        return {k: v * 1000 / self.ok for k, v in self.cpu} if self.ok else {}

    @property
    def server_cpu(self) -> float:
        return sum(v for _, v in self.cpu)

    @property
    def other_cpu(self) -> float:
        """CPU seconds the machine spent on neither the measured processes nor the load generator."""
        return max(0.0, self.machine_cpu - self.server_cpu - self.generator_cpu)

    def ceiling(self, cores: int) -> float:
        """Pages/s if the measured processes and the generator had every core to themselves at this cost."""
        per_page = (self.server_cpu + self.generator_cpu) / self.ok if self.ok else 0.0
        return cores / per_page if per_page else 0.0

    def line(self) -> str:
        return (
            f"{self.label:<34} {self.rate:8.1f}/s  mean {self.mean_ms:7.1f} ms  p50 {self.p50_ms:7.1f}  "
            f"p90 {self.p90_ms:7.1f}  p99 {self.p99_ms:7.1f}  max {self.max_ms:7.1f}  "
            f"({self.ok} ok, {self.failed} failed in {self.seconds:.1f} s)"
        )


def merge(label: str, parts: Sequence[Load]) -> Load:
    """Several measured windows of the same thing as one (exact: the histograms add up)."""
    hist: dict[int, int] = {}
    cpu: dict[str, float] = {}
    for part in parts:
        for bucket, count in part.histogram:
            hist[bucket] = hist.get(bucket, 0) + count
        for kind, secs in part.cpu:
            cpu[kind] = cpu.get(kind, 0.0) + secs
    return Load(
        label,
        parts[0].generator,
        parts[0].connections,
        sum(p.seconds for p in parts),
        sum(p.ok for p in parts),
        sum(p.failed for p in parts),
        tuple(sorted(hist.items())),
        sum(p.generator_cpu for p in parts),
        tuple(sorted(cpu.items(), key=lambda kv: -kv[1])),
        sum(p.machine_cpu for p in parts),
    )


WRK_SCRIPT = r"""
local cookies = __COOKIES__
local host = __HOST__
local path = __PATH__
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  for i, c in ipairs(cookies) do
    local headers = {["Host"] = host}
    if c ~= "" then headers["Cookie"] = c end
    reqs[i] = wrk.format("GET", path, headers)
  end
  n = 0
  bad = 0
end

function request()
  n = n + 1
  return reqs[(n % #reqs) + 1]
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("bad") end
  local e = summary.errors
  -- every distinct latency (microseconds) with its count; latency(i) is the i-th one
  local hist = {}
  for i = 1, #latency do
    local v, c = latency(i)
    hist[i] = string.format("[%d, %d]", v, c)
  end
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "non200": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"histogram_us": [%s]}\n',
    summary.requests, summary.duration, failed, e.connect + e.read + e.write + e.timeout, e.timeout,
    table.concat(hist, ", ")))
end
"""


def _lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk(label: str, url: str, cookies: Sequence[str], connections: int, seconds: float, host: str) -> Load:
    base, path = re.match(r"(https?://[^/]+)(/.*)", url).groups()  # type: ignore[union-attr]
    script = (
        WRK_SCRIPT.replace("__HOST__", _lua_string(host))
        .replace("__PATH__", _lua_string(path))
        .replace("__COOKIES__", "{" + ", ".join(_lua_string(c) for c in cookies) + "}")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        # one wrk thread drives all connections: it idles most of the time, and a second thread would only take
        # CPU from the server on a small machine
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s", "-s", f.name, base + "/"],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=True,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(f.name)
    generator_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    line = next(x for x in out.splitlines() if x.startswith("WRK-RESULT "))
    r = json.loads(line.split(" ", 1)[1])
    latencies = _undo_wrk_correction(dict(r["histogram_us"]), r["requests"], r["duration_us"], connections)
    if sum(latencies.values()) != r["requests"] - r["timeouts"]:
        raise RuntimeError("wrk's latency histogram does not add up to its request count")
    hist: dict[int, int] = {}
    for us, count in latencies.items():
        bucket = int(us / 1000 / BUCKET_MS)
        hist[bucket] = hist.get(bucket, 0) + count
    return Load(
        label,
        "wrk",
        connections,
        r["duration_us"] / 1e6,
        r["requests"] - r["non200"],
        r["non200"] + r["socket_errors"],
        tuple(sorted(hist.items())),
        generator_cpu,
    )


def _undo_wrk_correction(data: dict[int, int], requests: int, duration_us: int, connections: int) -> dict[int, int]:
    """wrk corrects its latencies for coordinated omission before reporting: for every answer that took n ≥ 2e µs
    (e = the run time over the answers per connection) it adds made-up answers at n − e, n − 2e, … while above e.
    A closed loop sends nothing on a schedule, so there is nothing to correct; this returns the latencies the
    answers really had. After the correction every bin m > e holds the sum of the true bins m, m + e, m + 2e, …,
    so the true count is data[m] − data[m + e]."""
    if sum(data.values()) == requests or requests // connections == 0:
        return data
    e = duration_us // (requests // connections)
    true = {m: c - data.get(m + e, 0) if m > e else c for m, c in data.items()}
    return {m: c for m, c in true.items() if c}


async def _httpx(label: str, url: str, cookies: Sequence[str], connections: int, seconds: float, host: str) -> Load:
    hist: dict[int, int] = {}
    ok = failed = 0
    end = time.perf_counter() + seconds

    async def session(cookie: str) -> None:
        nonlocal ok, failed
        headers = {"Host": host, **({"Cookie": cookie} if cookie else {})}
        async with httpx.AsyncClient(headers=headers, trust_env=False, timeout=30) as c:
            while time.perf_counter() < end:
                t = time.perf_counter()
                try:
                    status = (await c.get(url)).status_code
                except httpx.HTTPError:
                    failed += 1
                    continue
                bucket = int((time.perf_counter() - t) * 1000 / BUCKET_MS)
                hist[bucket] = hist.get(bucket, 0) + 1
                if status == 200:
                    ok += 1
                else:
                    failed += 1

    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(session(cookies[i % len(cookies)]) for i in range(connections)))
    elapsed, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    return Load(
        label,
        "httpx",
        connections,
        elapsed,
        ok,
        failed,
        tuple(sorted(hist.items())),
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


def load(
    label: str,
    url: str,
    cookies: Sequence[str],
    *,
    generator: str,
    connections: int,
    seconds: float,
    warmup: float,
    host: str = HOST,
    meter: CpuMeter | None = None,
    quiet: bool = False,
) -> Load:
    """A closed loop: `connections` clients, each sending its next request when the last one answered, for
    `warmup` unmeasured seconds and then `seconds` measured ones. Requests rotate over `cookies`."""
    cookies = list(cookies) or [""]

    def run(secs: float) -> Load:
        if generator == "wrk":
            return _wrk(label, url, cookies, connections, secs, host)
        return asyncio.run(_httpx(label, url, cookies, connections, secs, host))

    if warmup > 0:
        run(warmup)
    processes = meter.snapshot() if meter else {}
    machine_before = _machine_busy()
    result = run(seconds)
    result = dataclasses.replace(
        result,
        cpu=tuple(meter.since(processes).items()) if meter else (),
        machine_cpu=_machine_busy() - machine_before,
    )
    if not quiet:
        report(result)
    return result


def report(result: Load) -> None:
    print(result.line(), flush=True)
    if result.cpu:
        split = ", ".join(f"{k} {v:.2f}" for k, v in result.cpu_ms_per_page().items())
        print(
            f"    CPU ms per page: {split}, load generator {result.generator_cpu * 1000 / max(result.ok, 1):.2f}; "
            f"other programs on the machine took {result.other_cpu:.1f} CPU-s of {result.machine_cpu:.1f}",
            flush=True,
        )


def _machine_busy() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0))


class CpuMeter:
    """CPU seconds of a process tree by kind of process (gateway, accounts, postgresql, …)."""

    def __init__(self, root_pid: int, names: dict[int, str]) -> None:
        self.root_pid = root_pid
        self.names = names

    def snapshot(self) -> dict[int, tuple[str, float, float]]:
        out = {}
        for p in tree(self.root_pid):
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                out[p.pid] = (process_kind(p, self.names), p.create_time(), t.user + t.system)
        return out

    def since(self, before: dict[int, tuple[str, float, float]]) -> dict[str, float]:
        spent: dict[str, float] = {}
        for pid, (kind, created, cpu) in self.snapshot().items():
            earlier = before.get(pid)
            base = earlier[2] if earlier and earlier[1] == created else 0.0
            spent[kind] = spent.get(kind, 0.0) + cpu - base
        return dict(sorted(spent.items(), key=lambda kv: -kv[1]))


def cpu_table(rows: Sequence[Load], cores: int) -> str:
    """CPU milliseconds per page by process, and the pages/s that cost allows on `cores` dedicated cores."""
    kinds: list[str] = []
    for r in rows:
        kinds += [k for k, v in r.cpu if k not in kinds and v * 1000 / max(r.ok, 1) >= 0.05]
    out = [
        "| what | " + " | ".join(kinds) + " | all measured | load generator | ceiling on "
        f"{cores} cores | other programs (CPU-s of machine CPU-s) |",
        "|---|" + "---:|" * (len(kinds) + 4),
    ]
    for r in rows:
        per = r.cpu_ms_per_page()
        gen = r.generator_cpu * 1000 / max(r.ok, 1)
        out.append(
            f"| {r.label} | "
            + " | ".join(f"{per.get(k, 0.0):.2f}" for k in kinds)
            + f" | {sum(per.values()):.2f} | {gen:.2f} | {r.ceiling(cores):.0f}/s | "
            f"{r.other_cpu:.1f} of {r.machine_cpu:.1f} |"
        )
    return "\n".join(out)


def load_table(rows: Sequence[Load]) -> str:
    out = [
        "| what | pages/s (200 only) | mean ms | p50 ms | p90 ms | p99 ms | max ms | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r.label} | {r.rate:.1f} | {r.mean_ms:.1f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.max_ms:.1f} | {r.failed} |"
        )
    return "\n".join(out)


# --- processes ---------------------------------------------------------------------------------------------


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def process_kind(p: psutil.Process, names: dict[int, str]) -> str:
    """`portal.json` names the services and the gateway; the rest is PostgreSQL, nats-server or the supervisor."""
    if p.pid in names:
        return names[p.pid]
    try:
        exe = Path(p.exe()).name if p.exe() else p.name()
    except (psutil.AccessDenied, psutil.ZombieProcess):
        exe = p.name()
    if exe.startswith("postgres") or p.name().startswith("postgres"):
        return "postgresql"
    if "nats-server" in exe:
        return "nats-server"
    return "supervisor" if "python" in exe else exe


def named_pids(data_dir: Path) -> dict[int, str]:
    state = json.loads((data_dir / "portal.json").read_text())
    return {int(p["pid"]): name for name, p in (state.get("processes") or {}).items() if p.get("pid")}
