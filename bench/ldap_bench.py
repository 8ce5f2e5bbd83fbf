"""LDAP sign-in benchmark: konnect's identifier API against the raw ldap3 rate, in one run.

    bench/ldap_run [--seconds 10] [--concurrency 16] [--out bench/ldap-results.json]

Starts a private slapd on a loopback port with a throw-away database and a few users, then
measures, one after the other:

- raw: search (service account) + bind (user) with ldap3, the same operations konnect does
  per sign-in, from `concurrency` threads each with its own two persistent connections;
- konnect: `POST /signin/v1/identifier/_/logon` through `konnectd serve ldap` (one worker),
  loaded by wrk with `concurrency` connections.

Prints both rates and their ratio (goal: at least 0.7 at concurrency 16).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: import the repository's packages from its root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import fixtures, wrkrun
from bench.procs import ServerProcess, cpu_seconds, own_cpu_seconds, system_busy_seconds
from tests.identity.ldap.slapd import (
    BASE_DN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    Slapd,
    free_port,
    ssha,
)
from tests.pki import Pki

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3

USERS = 16
PASSWORD = "bench password 1"
GOAL = 0.7


def log(message: str) -> None:
    print(f"[ldap-bench] {message}", file=sys.stderr, flush=True)


def add_users(server: Slapd) -> None:
    entries = [
        f"dn: uid=bench{n},ou=users,{BASE_DN}\nobjectClass: inetOrgPerson\nuid: bench{n}\n"
        f"cn: Bench User {n}\nsn: User\nmail: bench{n}@example.com\n"
        f"userPassword: {ssha(PASSWORD)}\n"
        for n in range(USERS)
    ]
    server.ldapmodify("\n".join(entries), add=True)


def ldap_env(server: Slapd, pool_size: int) -> dict[str, str]:
    return {
        "LDAP_URI": server.url,
        "LDAP_BINDDN": SERVICE_DN,
        "LDAP_BINDPW": SERVICE_PASSWORD,
        "LDAP_BASEDN": BASE_DN,
        "LDAP_UUID_ATTRIBUTE": "entryUUID",
        "LDAP_POOL_SIZE": str(pool_size),
    }


# ---- raw ldap3 -----------------------------------------------------------------------------


def raw_worker(server: Slapd, index: int, stop_at: float, counts: list[int]) -> None:
    """Search + bind in a loop, as the backend does for one sign-in."""
    target = ldap3.Server("127.0.0.1", port=server.port, get_info=ldap3.NONE)
    search = ldap3.Connection(target, SERVICE_DN, SERVICE_PASSWORD, auto_bind=True)
    bind = ldap3.Connection(target, authentication=ldap3.SIMPLE)
    bind.open()
    attributes = ["uid", "mail", "cn", "sn", "givenName", "entryUUID", "userAccountControl"]
    done = 0
    while time.monotonic() < stop_at:
        name = f"bench{(index + done) % USERS}"
        search.search(BASE_DN, f"(&(objectClass=inetOrgPerson)(uid={name}))", attributes=attributes)
        dn = search.response[0]["dn"]
        bind.user, bind.password = dn, PASSWORD
        if not bind.bind():
            raise RuntimeError(f"raw bind failed: {bind.result}")
        done += 1
    counts[index] = done
    search.unbind()
    bind.unbind()


def measure_raw(server: Slapd, concurrency: int, seconds: float) -> dict[str, float]:
    counts = [0] * concurrency
    slapd_cpu = cpu_seconds([server.process.pid]) if server.process else 0.0
    busy, own = system_busy_seconds(), own_cpu_seconds()
    started = time.monotonic()
    stop_at = started + seconds
    threads = [
        threading.Thread(target=raw_worker, args=(server, index, stop_at, counts))
        for index in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    used = (cpu_seconds([server.process.pid]) if server.process else 0.0) - slapd_cpu
    own = own_cpu_seconds() - own
    other = system_busy_seconds() - busy - own - used
    return {
        "rate": sum(counts) / elapsed,
        "client_cpu_s": own,
        "slapd_cpu_s": used,
        "other_cpu_s": max(0.0, other),
    }


# ---- konnect -------------------------------------------------------------------------------


def start_konnect(server: Slapd, folder: Path, pool_size: int) -> tuple[ServerProcess, str]:
    fx = fixtures.create(folder)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "konnect", "serve", "--iss", base]
    args += ["--listen", f"127.0.0.1:{port}", "--signing-private-key", str(fx.pem["ES256"])]
    args += ["--signing-method", "ES256", "--encryption-secret", str(fx.secret)]
    args += ["--identifier-registration-conf", str(fx.registry), "--log-level", "warn", "ldap"]
    ignored = ("KONNECTD_", "OIDC_", "LDAP_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ignored)}
    env.update(ldap_env(server, pool_size))
    root = Path(__file__).resolve().parent.parent
    process = ServerProcess("konnect-ldap", args, folder / "konnect.log", env, root)
    process.start()
    process.wait_ready(base + "/health-check")
    return process, base


def logon_request(base: str, username: str) -> wrkrun.Request:
    body = {"state": "bench", "params": [username, PASSWORD, "1"], "hello": None}
    headers = (
        ("Kopano-Konnect-XSRF", "1"),
        ("Origin", base),
        ("Content-Type", "application/json"),
    )
    return wrkrun.Request("POST", base + "/signin/v1/identifier/_/logon", headers, json.dumps(body))


def measure_konnect(
    konnect: ServerProcess, server: Slapd, base: str, concurrency: int, seconds: float
) -> dict[str, float]:
    request = logon_request(base, "bench1")
    load = wrkrun.Load(threads=2, connections=concurrency, seconds=seconds)
    wrkrun.run(request, wrkrun.Load(threads=2, connections=concurrency, seconds=1))
    konnect_cpu = konnect.cpu_seconds()
    slapd_cpu = cpu_seconds([server.process.pid]) if server.process else 0.0
    busy, own = system_busy_seconds(), own_cpu_seconds()
    result = wrkrun.run(request, load)
    konnect_cpu = konnect.cpu_seconds() - konnect_cpu
    slapd_cpu = (cpu_seconds([server.process.pid]) if server.process else 0.0) - slapd_cpu
    own = own_cpu_seconds() - own
    other = system_busy_seconds() - busy - own - konnect_cpu - slapd_cpu
    if result.non_2xx or result.socket_errors:
        raise RuntimeError(
            f"konnect answered {result.non_2xx} non-2xx, {result.socket_errors} errors"
        )
    return {
        "rate": result.rate,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "konnect_cpu_s": konnect_cpu,
        "slapd_cpu_s": slapd_cpu,
        "wrk_cpu_s": own,
        "other_cpu_s": max(0.0, other),
    }


def run(seconds: float, concurrency: int, pool_size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="konnect-ldap-bench-") as temp:
        folder = Path(temp)
        server = Slapd(folder / "slapd", Pki(folder / "pki"))
        server.start()
        try:
            server.load_fixture()
            add_users(server)
            log(f"raw ldap3 search+bind, {concurrency} threads, {seconds:.0f} s")
            raw_worker_warmup = measure_raw(server, concurrency, 1)
            raw = measure_raw(server, concurrency, seconds)
            log(f"konnect identifier logon, {concurrency} connections, {seconds:.0f} s")
            konnect, base = start_konnect(server, folder, pool_size)
            try:
                signed_in = measure_konnect(konnect, server, base, concurrency, seconds)
            finally:
                konnect.stop()
            raw_after = measure_raw(server, concurrency, seconds)
        finally:
            server.stop()
    raw_rate = (raw["rate"] + raw_after["rate"]) / 2
    return {
        "concurrency": concurrency,
        "ldap_pool_size": pool_size,
        "seconds": seconds,
        "cpus": os.cpu_count(),
        "raw_warmup_rate": raw_worker_warmup["rate"],
        "raw_before": raw,
        "raw_after": raw_after,
        "raw_rate": raw_rate,
        "konnect": signed_in,
        "ratio": signed_in["rate"] / raw_rate if raw_rate else 0.0,
        "goal": GOAL,
    }


def print_report(results: dict[str, Any]) -> None:
    konnect = results["konnect"]
    print(
        f"LDAP sign-in, concurrency {results['concurrency']}, LDAP_POOL_SIZE "
        f"{results['ldap_pool_size']}, {results['cpus']} CPUs"
    )
    print("| measurement | per second | notes |")
    print("|---|---|---|")
    before, after = results["raw_before"], results["raw_after"]
    print(
        f"| raw ldap3 search+bind | {results['raw_rate']:.0f} | mean of before "
        f"({before['rate']:.0f}) and after ({after['rate']:.0f}); client CPU "
        f"{before['client_cpu_s']:.1f}/{after['client_cpu_s']:.1f} s, other processes "
        f"{before['other_cpu_s']:.1f}/{after['other_cpu_s']:.1f} CPU s |"
    )
    print(
        f"| konnect identifier logon | {konnect['rate']:.0f} | p50 {konnect['p50_ms']:.1f} ms, "
        f"p99 {konnect['p99_ms']:.1f} ms, konnect CPU {konnect['konnect_cpu_s']:.1f} s, "
        f"slapd CPU {konnect['slapd_cpu_s']:.1f} s, other processes "
        f"{konnect['other_cpu_s']:.1f} CPU s |"
    )
    verdict = "met" if results["ratio"] >= results["goal"] else "NOT met"
    print(f"ratio konnect/raw: {results['ratio']:.2f} (goal {results['goal']}: {verdict})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pool-size", type=int, default=16, help="konnect's LDAP_POOL_SIZE")
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args(argv)
    results = run(options.seconds, options.concurrency, options.pool_size)
    print_report(results)
    if options.out:
        options.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
