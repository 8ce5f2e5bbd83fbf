"""Jitsi logins against the token endpoint of the same konnect: bench/jitsi_run [--seconds N].

One konnect (one worker, RS256 signing key) with two Jitsi servers, one signing HS256 with a
shared secret and one RS256 (ASAP). wrk measures, for a signed-in user, the Jitsi login
(token and redirect to the room, HS256 and RS256) and the entry redirect at /jitsi/login,
and the client_credentials grant (one RS256 access token) as the reference. Per row: rate,
latency, and the server's CPU time per request; the goal is that a Jitsi login costs at
most one RS256 signature more CPU than a token request.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

if not __package__:  # run as a file: import the bench package from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench import fixtures, oidcflows, wrkrun
from bench.bench import apt_install, free_port, konnect_command, server_env, token_request
from bench.procs import ServerProcess, cpu_seconds
from konnect.keys import KeySet, load_signing_keys

ALG = "RS256"
JITSI_URL = "https://meet.example.com"
INNER_LOGIN = "/signin/v1/identifier/_/jitsi/login"


@dataclass(frozen=True)
class Result:
    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    errors: int


def jitsi_conf(folder: Path) -> Path:
    (folder / "jitsi.secret").write_bytes(b"s" * 32)
    path = folder / "jitsi.yaml"
    path.write_text(
        "jitsi:\n"
        f"  - {{id: hs, url: '{JITSI_URL}', app_id: bench, secret_file: jitsi.secret}}\n"
        f"  - {{id: rs, url: '{JITSI_URL}', app_id: bench, asap: true}}\n"
    )
    return path


def signature_ms(pem: Path) -> float:
    """CPU milliseconds of one RS256 signature with konnect's signer, in this process."""
    keys = KeySet(load_signing_keys([pem], "bench"), [], ALG)
    claims = {"iss": "bench", "sub": "bench", "exp": 0}
    rounds = 300
    start = time.process_time()
    for _ in range(rounds):
        keys.sign(claims, ALG)
    return (time.process_time() - start) * 1000 / rounds


def measure(server: ServerProcess, name: str, request: wrkrun.Request, load: wrkrun.Load) -> Result:
    wrkrun.run(request, wrkrun.Load(seconds=1))
    before = cpu_seconds(server.pids())
    result = wrkrun.run(request, load)
    used = cpu_seconds(server.pids()) - before
    return Result(
        name,
        result.rate,
        result.p50_ms,
        result.p99_ms,
        used * 1000 / max(result.requests, 1),
        result.non_2xx + result.socket_errors,
    )


def login_request(base: str, cookie: str, server_id: str) -> wrkrun.Request:
    url = base + INNER_LOGIN + "?" + urlencode({"room": "bench", "server": server_id})
    response = httpx.get(url, headers={"Cookie": cookie}, timeout=10)
    if not response.headers.get("location", "").startswith(JITSI_URL + "/bench?jwt="):
        raise RuntimeError(f"the Jitsi login did not redirect to Jitsi: {response.status_code}")
    return wrkrun.Request("GET", url, (("Cookie", cookie),))


def run(seconds: float) -> list[Result]:
    if shutil.which("wrk") is None:
        apt_install("wrk")
    load = wrkrun.Load(seconds=seconds)
    with tempfile.TemporaryDirectory(prefix="konnect-jitsi-bench-") as temp:
        folder = Path(temp)
        fx = fixtures.create(folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = konnect_command(1)(port, "PS256", fx, ["--jitsi-conf", str(jitsi_conf(folder))])
        args[args.index("--signing-method") + 1] = ALG
        server = ServerProcess("konnect", args, folder / "konnect.log", server_env({}), None)
        server.start()
        try:
            server.wait_ready(base + "/health-check")
            with httpx.Client(base_url=base, timeout=30) as browser:
                oidcflows.sign_in(browser, base, fx.password)
                cookie = oidcflows.cookie_header(browser.cookies, INNER_LOGIN)
            token = token_request(base + "/konnect/v1/token", {"grant_type": "client_credentials"})
            entry = wrkrun.Request("GET", base + "/jitsi/login?room=bench&server=hs")
            return [
                measure(server, f"token endpoint (client_credentials, {ALG})", token, load),
                measure(server, "/jitsi/login entry redirect", entry, load),
                measure(server, "Jitsi login HS256", login_request(base, cookie, "hs"), load),
                measure(
                    server, f"Jitsi login {ALG} (ASAP)", login_request(base, cookie, "rs"), load
                ),
                Result(
                    f"one {ALG} signature (in-process)", 0, 0, 0, signature_ms(fx.pem["PS256"]), 0
                ),
            ]
        finally:
            server.stop()


def report(results: list[Result]) -> bool:
    print(f"{'scenario':44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} errors")
    for row in results:
        print(
            f"{row.name:44} {row.rate:8.0f} {row.p50_ms:8.2f} {row.p99_ms:8.2f} "
            f"{row.cpu_ms_per_request:11.3f} {row.errors}"
        )
    token, _, hs, rs, signature = results
    budget = token.cpu_ms_per_request + signature.cpu_ms_per_request
    ok = all(row.cpu_ms_per_request <= budget for row in (hs, rs))
    print(
        f"goal: a Jitsi login costs at most the token request plus one signature "
        f"({budget:.3f} ms CPU): {'met' if ok else 'NOT met'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per row")
    args = parser.parse_args(argv)
    return 0 if report(run(args.seconds)) else 1


if __name__ == "__main__":
    sys.exit(main())
