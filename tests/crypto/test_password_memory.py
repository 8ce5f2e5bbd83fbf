"""Password checks give their argon2 memory back: RSS of a fresh process before and after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
ARGON2_BUFFER_MIB = 19

# Four checks at once on a pool of four threads, five times: glibc's default would keep one
# 19 MiB buffer in each of the four threads.
CHECKS = """
import asyncio, json, os
from konnect.crypto import PasswordChecks, hash_password

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

async def main():
    checks = PasswordChecks(workers=4)
    stored = hash_password("secret")
    before = rss()
    for _ in range(5):
        results = await asyncio.gather(*(checks.verify(stored, "secret") for _ in range(4)))
        assert all(results)
    print(json.dumps({"before": before, "after": rss(), "threads": checks.workers}))
    checks.close()

asyncio.run(main())
"""


def test_password_checks_return_their_memory() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHECKS], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    grown_mib = (measured["after"] - measured["before"]) / MIB
    assert grown_mib < ARGON2_BUFFER_MIB / 2, measured
