"""Server processes: start, wait until ready, measure CPU and memory from /proc, stop."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (field 3 onwards)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """The process and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError, ValueError, IndexError):
            parent = int(_stat_fields(int(entry.name))[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of the processes and of their reaped children."""
    ticks = 0
    for pid in pids:
        with suppress(OSError, ValueError, IndexError):
            fields = _stat_fields(pid)
            # utime, stime, cutime, cstime are fields 14-17 of the stat line.
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def system_busy_seconds() -> float:
    """CPU time all CPUs spent not idle since boot (/proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields) - idle - iowait) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    """CPU time of this process and its reaped children (wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def status_kb(pid: int, field: str) -> int:
    """A size field of /proc/PID/status (VmRSS, VmHWM) in kB, 0 when unreadable."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss(pids: Sequence[int]) -> None:
    """Start a new VmHWM period (writing 5 to clear_refs); ignored where not permitted."""
    for pid in pids:
        with suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


class ServerProcess:
    """One server under test, in its own process group so all its workers can be stopped."""

    def __init__(
        self, name: str, args: Sequence[str], log: Path, env: Mapping[str, str], cwd: Path | None
    ) -> None:
        self.name = name
        self.args = list(args)
        self.log = log
        self.env = dict(env)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.cold_start_s = float("nan")
        self.companions: list[ServerProcess] = []
        """Helper processes (a state store) measured as part of this server."""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(  # noqa: S603 - arguments built by the benchmark
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )

    def wait_ready(self, url: str, timeout: float = 30.0) -> None:
        """Poll url until it answers 200; the time to that is the cold start."""
        deadline = self.started_at + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited during startup\n{self.log_tail()}")
                with suppress(httpx.TransportError):
                    if client.get(url).status_code == 200:
                        self.cold_start_s = time.monotonic() - self.started_at
                        return
                time.sleep(0.01)
        raise RuntimeError(f"{self.name} was not ready after {timeout:.0f} s\n{self.log_tail()}")

    def wait_port(self, port: int, timeout: float = 10.0) -> None:
        """Wait until something accepts connections on a loopback port."""
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited during startup\n{self.log_tail()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not listen after {timeout:.0f} s")

    def pids(self) -> list[int]:
        pids = process_tree(self.pid)
        for companion in self.companions:
            pids += companion.pids()
        return pids

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids())

    def rss_mb(self) -> tuple[float, float]:
        """Summed and largest single-process VmRSS in MB."""
        sizes = [status_kb(pid, "VmRSS") / 1024 for pid in self.pids()]
        return sum(sizes), max(sizes, default=0.0)

    def peak_rss_mb(self) -> tuple[float, float]:
        """Summed and largest single-process VmHWM in MB."""
        sizes = [status_kb(pid, "VmHWM") / 1024 for pid in self.pids()]
        return sum(sizes), max(sizes, default=0.0)

    def reset_peak(self) -> None:
        reset_peak_rss(self.pids())

    def log_tail(self, lines: int = 15) -> str:
        with suppress(OSError):
            text = self.log.read_text(errors="replace").strip().splitlines()
            return "\n".join("    " + line for line in text[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 5 s."""
        process, self.process = self.process, None
        if process is None:
            return
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
