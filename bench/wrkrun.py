"""Running wrk and reading its --latency report."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_POST = Path(__file__).resolve().parent / "lua" / "post.lua"

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class Load:
    """The load wrk puts on a server."""

    threads: int = 2
    connections: int = 16
    seconds: float = 10.0
    repeat_if_disturbed: bool = True
    """Measure again when other processes took over 10% of the CPUs meanwhile."""


@dataclass(frozen=True)
class Request:
    """One HTTP request that wrk repeats."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rate: float
    percentiles_ms: dict[str, float]
    non_2xx: int
    socket_errors: int

    @property
    def p50_ms(self) -> float:
        return self.percentiles_ms.get("50", float("nan"))

    @property
    def p99_ms(self) -> float:
        return self.percentiles_ms.get("99", float("nan"))


class WrkError(RuntimeError):
    """wrk failed or printed a report this module cannot read."""


def to_ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse(output: str) -> WrkResult:
    """The numbers of a `wrk --latency` report."""
    rate = _RATE.search(output)
    total = _TOTAL.search(output)
    if rate is None or total is None:
        raise WrkError("no wrk report in:\n" + output)
    percentiles = {match[1]: to_ms(match[2], match[3]) for match in _PERCENTILE.finditer(output)}
    non_2xx = _NON_2XX.search(output)
    socket = _SOCKET.search(output)
    return WrkResult(
        requests=int(total[1]),
        seconds=to_ms(total[2], total[3]) / 1000.0,
        rate=float(rate[1]),
        percentiles_ms=percentiles,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )


def command(request: Request, load: Load) -> list[str]:
    seconds = max(1, round(load.seconds))
    args = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    for name, value in request.headers:
        args += ["-H", f"{name}: {value}"]
    if request.method == "POST":
        args += ["-s", str(LUA_POST)]
    elif request.method != "GET":
        raise ValueError(f"unsupported method {request.method}")
    return [*args, request.url]


def run(request: Request, load: Load) -> WrkResult:
    env = dict(os.environ, BENCH_BODY=request.body)
    completed = subprocess.run(  # noqa: S603 - fixed program, arguments built here
        command(request, load),
        env=env,
        capture_output=True,
        text=True,
        timeout=load.seconds + 60,
        check=False,
    )
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}: {completed.stderr.strip()}")
    return parse(completed.stdout)
