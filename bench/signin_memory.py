"""Memory of password checks: konnect's RSS before, during and after a run of sign-ins.

    bench/signin_memory_run [--sign-ins 400] [--concurrency 16] [--out FILE]

Starts `konnectd serve users` (one worker, argon2id hashes at konnect's default cost) on a
loopback port, measures its idle RSS, sends `sign-ins` successful
`POST /signin/v1/identifier/_/logon` requests from `concurrency` threads, and reports the
peak RSS during the run (VmHWM), the RSS right after it and two seconds later, and the
number of threads the process ended with.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

if not __package__:  # run as a file: import the repository's packages from its root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import fixtures, oidcflows
from bench.bench import free_port, konnect_command, server_env
from bench.procs import ServerProcess, status_kb


def log(message: str) -> None:
    print(f"[signin-memory] {message}", file=sys.stderr, flush=True)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    return round(status_kb(pid, field) / 1024, 1)


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def sign_in_many(base: str, password: str, count: int, concurrency: int) -> tuple[int, float]:
    """Successful sign-ins from `concurrency` threads; (failures, seconds)."""
    body = oidcflows.logon_body(password)
    headers = oidcflows.api_headers(base)

    def worker(share: int) -> int:
        failures = 0
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(share):
                response = client.post(oidcflows.LOGON_PATH, json=body, headers=headers)
                failures += response.status_code != 200
                client.cookies.clear()
        return failures

    shares = [count // concurrency + (n < count % concurrency) for n in range(concurrency)]
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        failures = sum(pool.map(worker, shares))
    return failures, time.monotonic() - started


def measure(count: int, concurrency: int, folder: Path) -> dict[str, Any]:
    fx = fixtures.create(folder)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = konnect_command(1)(port, "ES256", fx, [])
    server = ServerProcess("konnect", command, folder / "konnect.log", server_env({}), None)
    server.start()
    try:
        server.wait_ready(base + "/health-check")
        time.sleep(1)
        pid = server.pid
        result: dict[str, Any] = {"idle_rss_mb": rss_mb(pid), "idle_threads": threads(pid)}
        server.reset_peak()
        failures, seconds = sign_in_many(base, fx.password, count, concurrency)
        result |= {
            "sign_ins": count,
            "concurrency": concurrency,
            "failures": failures,
            "sign_ins_per_s": round(count / seconds, 1),
            "peak_rss_mb": rss_mb(pid, "VmHWM"),
            "rss_after_mb": rss_mb(pid),
        }
        time.sleep(2)
        result |= {"rss_settled_mb": rss_mb(pid), "threads_after": threads(pid)}
        return result
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sign-ins", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="konnect-signin-memory-") as folder:
        log(f"{options.sign_ins} sign-ins from {options.concurrency} threads")
        result = measure(options.sign_ins, options.concurrency, Path(folder))
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    if options.out:
        options.out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
