"""Benchmark konnect against a bare starlette app and node-oidc-provider, measured in one run.

    bench/run [--quick] [--out bench/results.json]

Servers run one after the other on loopback ports; wrk (or, for the code flow, an httpx
driver) loads each scenario with 16 connections, then with 64. Prints Markdown tables and the
targets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if not __package__:  # run as a file: import the bench package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx

from bench import fixtures, oidcflows, report, wrkrun
from bench.fixtures import ALGS, Fixtures
from bench.procs import (
    ServerProcess,
    own_cpu_seconds,
    process_tree,
    system_busy_seconds,
)
from bench.report import Row, Startup

BENCH_DIR = Path(__file__).resolve().parent
NODE_CACHE = BENCH_DIR / ".cache" / "node"
PROVIDER_MJS = BENCH_DIR / "node" / "provider.mjs"
DISCOVERY_PATH = "/.well-known/openid-configuration"
WARMUP = wrkrun.Load(seconds=1)
CONCURRENCIES = (16, 64)
#: Password hashing is slow by design: more connections only make its queue longer.
SIXTEEN_ONLY = (report.SIGN_IN,)

NODE_NOTES = [
    "node-oidc-provider: in-memory adapter; client_credentials access tokens are JWTs signed "
    "with the run's key and alg like konnect's, other access tokens are opaque (konnect's are "
    "signed JWTs, one signature more per code flow); /interaction signs the bench user in "
    "without a password check (it is only used to obtain the session and refresh token).",
    "node-oidc-provider 9 asks for Node.js 22 or later and warns on older runtimes; the "
    "node version used is in the heading.",
    "code flow: req/s column is complete flows per second (authorize + code exchange, "
    "one asyncio loop per connection with keep-alive in the benchmark process, which shares "
    "the 2 CPUs); p50/p99 and CPU ms are per flow.",
    "CPU ms/req: user + system time of the server's processes during the measured period "
    "per request; cores: that time per second (how much of the CPUs the server used); "
    "peak RSS: VmHWM summed over the server's processes (konnect-2w includes its redis).",
]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---- tools ------------------------------------------------------------------------------


def apt_install(*packages: str) -> None:
    log(f"installing {' '.join(packages)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607
    subprocess.run(  # noqa: S603
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],  # noqa: S607
        check=True,
        env=env,
    )


def installed_provider_version() -> str:
    package = NODE_CACHE / "node_modules" / "oidc-provider" / "package.json"
    if not package.exists():
        return ""
    return str(json.loads(package.read_text()).get("version", ""))


def ensure_node_provider() -> str:
    """node-oidc-provider 9 under bench/.cache/node; returns its version."""
    if not installed_provider_version().startswith("9."):
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        (NODE_CACHE / "package.json").write_text('{"private": true, "type": "module"}\n')
        log("installing oidc-provider@9 with npm")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "oidc-provider@9"],  # noqa: S607
            cwd=NODE_CACHE,
            check=True,
            timeout=600,
        )
    shutil.copyfile(PROVIDER_MJS, NODE_CACHE / "provider.mjs")
    return installed_provider_version()


def tool_version(args: list[str]) -> str:
    completed = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    output = (completed.stdout or completed.stderr).strip()
    return output.splitlines()[0] if output else "?"


def ensure_tools() -> dict[str, str]:
    if shutil.which("wrk") is None:
        apt_install("wrk")
    if shutil.which("redis-server") is None:
        apt_install("redis-server")
    if shutil.which("node") is None or shutil.which("npm") is None:
        apt_install("nodejs", "npm")
    return {
        "wrk": tool_version(["wrk", "-v"]),
        "node": tool_version(["node", "--version"]),
        "oidc-provider": ensure_node_provider(),
        "python": sys.version.split()[0],
    }


# ---- servers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    name: str
    kind: str
    """bare, konnect or node."""
    ready_path: str
    command: Callable[[int, str, Fixtures, list[str]], list[str]]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    redis: bool = False
    """Needs a shared state store: a private redis-server is started alongside."""


def bare_command(port: int, alg: str, fx: Fixtures, extra: list[str]) -> list[str]:
    script = str(BENCH_DIR / "bare_app.py")
    return [sys.executable, script, "--port", str(port), "--jwks", str(fx.public_jwks[alg])]


def konnect_command(workers: int) -> Callable[[int, str, Fixtures, list[str]], list[str]]:
    def command(port: int, alg: str, fx: Fixtures, extra: list[str]) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "konnect",
            "serve",
            "--iss",
            f"http://127.0.0.1:{port}",
            "--listen",
            f"127.0.0.1:{port}",
            "--signing-private-key",
            str(fx.pem[alg]),
            "--signing-method",
            alg,
            "--encryption-secret",
            str(fx.secret),
            "--identifier-registration-conf",
            str(fx.registry),
            "--log-level",
            "warn",
            # One user signs in from 16 connections at once: measure sign-in, not its throttle.
            "--sign-in-attempts-per-user",
            "1000000",
            "--sign-in-attempts-per-address",
            "1000000",
            *extra,
        ]
        if workers > 1:
            args += ["--workers", str(workers)]
        return [*args, "users", str(fx.users)]

    return command


def node_command(port: int, alg: str, fx: Fixtures, extra: list[str]) -> list[str]:
    return ["node", "provider.mjs", str(port), str(fx.private_jwk[alg]), alg]


def server_specs() -> list[ServerSpec]:
    return [
        ServerSpec(report.BARE, "bare", DISCOVERY_PATH, bare_command),
        ServerSpec(report.KONNECT, "konnect", "/health-check", konnect_command(1)),
        ServerSpec(report.KONNECT_2W, "konnect", "/health-check", konnect_command(2), redis=True),
        ServerSpec(
            report.NODE,
            "node",
            DISCOVERY_PATH,
            node_command,
            cwd=NODE_CACHE,
            env={"NODE_ENV": "production"},
        ),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment without settings konnect would read from it."""
    ignored = ("KONNECTD_", "OIDC_", "LDAP_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ignored)}
    return {**env, **extra}


# ---- scenarios --------------------------------------------------------------------------


NEEDS_SESSION = (report.USERINFO, report.REFRESH, report.CODE_FLOW)


@dataclass
class Plan:
    """What can be measured on one running server."""

    kind: str
    base: str
    doc: dict[str, Any]
    fx: Fixtures
    requests: dict[str, wrkrun.Request] = field(default_factory=dict)
    cookies: httpx.Cookies | None = None
    unavailable: dict[str, tuple[str, str]] = field(default_factory=dict)
    """scenario -> (status, reason)."""

    @property
    def authorize_url(self) -> str:
        return str(self.doc["authorization_endpoint"])

    @property
    def token_url(self) -> str:
        return str(self.doc["token_endpoint"])


def token_request(url: str, form: dict[str, str]) -> wrkrun.Request:
    headers = (
        ("Authorization", oidcflows.BASIC_AUTH),
        ("Content-Type", oidcflows.FORM),
    )
    return wrkrun.Request("POST", url, headers, urlencode(form))


def signed_in_tokens(plan: Plan) -> None:
    """Sign in, authorize with offline_access and exchange the code; fills plan."""
    with httpx.Client(base_url=plan.base, follow_redirects=False, timeout=30) as browser:
        if plan.kind == "konnect":
            oidcflows.sign_in(browser, plan.base, plan.fx.password)
            prompt = "none"
        else:
            prompt = "consent"  # node-oidc-provider drops offline_access without it
        params = oidcflows.authorize_params("openid profile email offline_access", prompt)
        code = oidcflows.obtain_code(browser, plan.authorize_url, params)
        tokens = oidcflows.exchange(plan.token_url, code)
        plan.cookies = httpx.Cookies(browser.cookies)
    plan.requests[report.USERINFO] = wrkrun.Request(
        "GET",
        plan.doc["userinfo_endpoint"],
        (("Authorization", "Bearer " + tokens["access_token"]),),
    )
    if "refresh_token" in tokens:
        plan.requests[report.REFRESH] = token_request(
            plan.token_url,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
    else:
        plan.unavailable[report.REFRESH] = ("n/a", "no refresh token was issued")


def renew_session(plan: Plan) -> None:
    """A fresh session and tokens before each scenario that uses them.

    node-oidc-provider's in-memory store keeps only its 1000 most recently used entries, so
    the tokens minted by one scenario would evict the session an earlier setup made.
    """
    try:
        signed_in_tokens(plan)
    except (oidcflows.FlowError, httpx.HTTPError, KeyError) as error:
        plan.cookies = None
        for scenario in NEEDS_SESSION:
            plan.unavailable[scenario] = ("failed", f"setup: {error}")


def plan_scenarios(kind: str, base: str, fx: Fixtures) -> Plan:
    doc = oidcflows.discover(base)
    plan = Plan(kind, base, doc, fx)
    plan.requests[report.DISCOVERY] = wrkrun.Request("GET", base + DISCOVERY_PATH)
    plan.requests[report.JWKS] = wrkrun.Request("GET", doc["jwks_uri"])
    if kind == "bare":
        return plan
    renew_session(plan)
    plan.requests[report.CLIENT_CREDENTIALS] = token_request(
        plan.token_url, {"grant_type": "client_credentials"}
    )
    if kind == "konnect":
        headers = tuple(oidcflows.api_headers(base).items())
        body = json.dumps(oidcflows.logon_body(fx.password))
        plan.requests[report.SIGN_IN] = wrkrun.Request(
            "POST", base + oidcflows.LOGON_PATH, headers, body
        )
    else:
        plan.unavailable[report.SIGN_IN] = (
            "n/a",
            "no login API of its own (interactions are application code)",
        )
    return plan


def sample(request: wrkrun.Request) -> httpx.Response:
    """One request exactly as wrk will send it."""
    return httpx.request(
        request.method,
        request.url,
        headers=dict(request.headers),
        content=request.body.encode() if request.body else None,
        timeout=30,
    )


def sample_problem(scenario: str, request: wrkrun.Request) -> tuple[str, str] | None:
    """None when a sample answer is 2xx, else (status, reason) for the table."""
    response = sample(request)
    if 200 <= response.status_code < 300:
        return None
    reason = f"sample answered {response.status_code}: {response.text[:160]}"
    if scenario == report.CLIENT_CREDENTIALS:
        return "not supported", reason
    return "failed", reason


# ---- measuring --------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of the server, and of everything else on the machine, over a period."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.server_start = server.cpu_seconds()
        self.own_start = own_cpu_seconds()
        self.busy_start = system_busy_seconds()

    def stop(self, row: Row) -> None:
        server = self.server.cpu_seconds() - self.server_start
        own = own_cpu_seconds() - self.own_start
        busy = system_busy_seconds() - self.busy_start
        row.cpu_s = server
        row.other_cpu_s = max(0.0, busy - server - own)
        row.peak_rss_mb, row.peak_rss_worker_mb = self.server.peak_rss_mb()


def measure_wrk(
    server: ServerProcess, row: Row, request: wrkrun.Request, load: wrkrun.Load
) -> None:
    wrkrun.run(request, WARMUP)
    server.reset_peak()
    meter = CpuMeter(server)
    result = wrkrun.run(request, load)
    meter.stop(row)
    row.rate = result.rate
    row.requests = result.requests
    row.seconds = result.seconds
    row.p50_ms = result.p50_ms
    row.p99_ms = result.p99_ms
    row.non_2xx = result.non_2xx
    row.socket_errors = result.socket_errors
    if result.non_2xx and result.non_2xx * 100 > (result.requests or 0):
        # Failing fast is not being fast: such a row gets no ratio.
        row.status = "failed"
        row.note = f"{result.non_2xx} of {result.requests} answers were not 2xx"


def measure_code_flow(server: ServerProcess, row: Row, plan: Plan, load: wrkrun.Load) -> None:
    assert plan.cookies is not None
    warm = oidcflows.drive_code_flows(plan.cookies, plan.authorize_url, plan.token_url, 1.0)
    if warm.flows == 0:
        row.status, row.note = "failed", f"no flow completed: {warm.first_error}"
        return
    server.reset_peak()
    meter = CpuMeter(server)
    stats = oidcflows.drive_code_flows(
        plan.cookies, plan.authorize_url, plan.token_url, load.seconds, load.connections
    )
    meter.stop(row)
    row.rate = stats.rate
    row.requests = stats.flows * 2
    row.seconds = load.seconds
    row.p50_ms = oidcflows.percentile(stats.flow_ms, 50)
    row.p99_ms = oidcflows.percentile(stats.flow_ms, 99)
    row.token_p99_ms = oidcflows.percentile(stats.token_ms, 99)
    row.non_2xx = stats.errors
    if stats.errors:
        row.note = f"first error: {stats.first_error}"


SCENARIO_ORDER = (
    report.DISCOVERY,
    report.JWKS,
    report.USERINFO,
    report.REFRESH,
    report.CLIENT_CREDENTIALS,
    report.CODE_FLOW,
    report.SIGN_IN,
)


def measure_scenario(
    server: ServerProcess, scenario: str, alg: str, plan: Plan, load: wrkrun.Load
) -> Row | None:
    row = Row(scenario, alg, server.name, connections=load.connections)
    if plan.kind == "bare" and scenario not in plan.requests:
        return None
    if scenario in NEEDS_SESSION and scenario not in plan.unavailable:
        renew_session(plan)
    if scenario in plan.unavailable:
        row.status, row.note = plan.unavailable[scenario]
        return row
    if scenario == report.CODE_FLOW:
        if plan.cookies is None:
            return None
        log(f"{server.name} {alg} c{load.connections}: {scenario}")
        return least_disturbed(row, load, lambda r: measure_code_flow(server, r, plan, load))
    request = plan.requests.get(scenario)
    if request is None:
        return None
    problem = sample_problem(scenario, request)
    if problem is not None:
        row.status, row.note = problem
        return row
    log(f"{server.name} {alg} c{load.connections}: {scenario}")
    return least_disturbed(row, load, lambda r: measure_wrk(server, r, request, load))


def measure_or_fail(
    server: ServerProcess, scenario: str, alg: str, plan: Plan, load: wrkrun.Load
) -> list[Row]:
    try:
        row = measure_scenario(server, scenario, alg, plan, load)
    except (wrkrun.WrkError, httpx.HTTPError, subprocess.SubprocessError) as error:
        log(f"{server.name} {alg} {scenario} c{load.connections} failed: {error}")
        note = str(error).splitlines()[0][:200]
        row = Row(scenario, alg, server.name, "failed", note, load.connections)
    return [] if row is None else [row]


def least_disturbed(row: Row, load: wrkrun.Load, measure: Callable[[Row], None]) -> Row:
    """Measure; when other processes took over 10% of the CPUs meanwhile, measure once more
    and keep the quieter of the two."""
    measure(row)
    limit = 0.1 * (os.cpu_count() or 1) * load.seconds
    if not load.repeat_if_disturbed or row.status != "ok" or (row.other_cpu_s or 0.0) <= limit:
        return row
    log(f"  other processes used {row.other_cpu_s:.1f} CPU s meanwhile, measuring again")
    again = replace(row, note="")
    measure(again)
    if again.status == "ok" and (again.other_cpu_s or 0.0) < (row.other_cpu_s or 0.0):
        return again
    return row


def start_redis(fx: Fixtures, running: list[ServerProcess]) -> tuple[ServerProcess, str]:
    """A private redis-server on a loopback port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (needed for more than one worker)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--protected-mode", "yes"]
    process = ServerProcess("redis", args, fx.folder / "redis.log", dict(os.environ), None)
    running.append(process)
    process.start()
    process.wait_port(port)
    return process, f"redis://127.0.0.1:{port}/0"


def start_server(
    spec: ServerSpec, alg: str, fx: Fixtures, running: list[ServerProcess]
) -> tuple[ServerProcess, str]:
    extra: list[str] = []
    redis = None
    if spec.redis:
        redis, url = start_redis(fx, running)
        extra = ["--state-store", url]
    port = free_port()
    process = ServerProcess(
        spec.name,
        spec.command(port, alg, fx, extra),
        fx.folder / f"{spec.name}-{alg}.log",
        server_env(spec.env),
        spec.cwd,
    )
    if redis is not None:
        process.companions.append(redis)
    running.append(process)
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        process.wait_ready(base + spec.ready_path)
    except RuntimeError:
        process.stop()
        for companion in process.companions:
            companion.stop()
        raise
    return process, base


def run_server(
    spec: ServerSpec, alg: str, fx: Fixtures, load: wrkrun.Load, running: list[ServerProcess]
) -> tuple[Startup, list[Row]]:
    startup = Startup(spec.name, alg)
    log(f"starting {spec.name} ({alg})")
    try:
        server, base = start_server(spec, alg, fx, running)
    except RuntimeError as error:
        startup.status = "n/a" if spec.name == report.KONNECT_2W else "failed"
        startup.note = " / ".join(line.strip() for line in str(error).splitlines()[-2:])[:300]
        log(str(error))
        return startup, []
    try:
        startup.cold_start_s = server.cold_start_s
        time.sleep(1.0)
        startup.idle_rss_mb, startup.idle_rss_worker_mb = server.rss_mb()
        startup.processes = len(server.pids())
        own = len(process_tree(server.pid))
        if spec.name == report.KONNECT_2W and own < 2:
            startup.status = "n/a"
            startup.note = f"--workers 2 started but runs {own} konnect process"
            return startup, []
        try:
            plan = plan_scenarios(spec.kind, base, fx)
        except (oidcflows.FlowError, httpx.HTTPError, KeyError, ValueError) as error:
            startup.status, startup.note = "failed", f"discovery: {error}"
            return startup, []
        rows = []
        for connections in CONCURRENCIES:
            at = replace(load, connections=connections)
            for scenario in SCENARIO_ORDER:
                if connections != CONCURRENCIES[0] and scenario in SIXTEEN_ONLY:
                    continue
                rows.extend(measure_or_fail(server, scenario, alg, plan, at))
        return startup, rows
    finally:
        server.stop()
        for companion in server.companions:
            companion.stop()


# ---- main -------------------------------------------------------------------------------


@dataclass
class Results:
    meta: dict[str, Any]
    startups: list[Startup] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


def run_all(results: Results, fx: Fixtures, load: wrkrun.Load, algs: list[str]) -> None:
    running: list[ServerProcess] = []
    try:
        for alg in algs:
            for spec in server_specs():
                startup, rows = run_server(spec, alg, fx, load, running)
                results.startups.append(startup)
                results.rows.extend(rows)
    finally:
        for process in running:
            process.stop()


def print_report(results: Results) -> list[report.Target]:
    report.add_ratios(results.rows)
    algs = tuple(results.meta["algs"])
    found = report.targets(results.rows, results.startups, algs, CONCURRENCIES)
    meta, tools = results.meta, results.meta["tools"]
    print(
        f"\n## konnect benchmark ({meta['wrk_args']}, {meta['cpus']} CPUs, "
        f"node-oidc-provider {tools.get('oidc-provider')}, node {tools.get('node')})\n"
    )
    for connections in CONCURRENCIES:
        print(report.results_table(results.rows, connections))
        print()
    print(report.startup_table(results.startups))
    print()
    lines = [*NODE_NOTES, *report.notes(results.rows, results.startups)]
    warning = report.busy_warning(results.rows, meta["cpus"] * meta["seconds"])
    if warning:
        lines.append(warning)
    for line in lines:
        print(f"- {line}")
    print("\nTargets (konnect, 1 worker):")
    for target in found:
        print(f"- {target.verdict.upper()}: {target.name} ({target.detail})")
    return found


def write_json(path: Path, results: Results, found: list[report.Target]) -> None:
    document = {
        "meta": results.meta,
        "startups": [asdict(item) for item in results.startups],
        "results": [asdict(row) for row in results.rows],
        "targets": [asdict(target) for target in found],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_clean_nan(document), indent=2, allow_nan=False, default=str)
    path.write_text(text + "\n")


def _clean_nan(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {key: _clean_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean_nan(item) for item in value]
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per scenario instead of 10 s")
    parser.add_argument(
        "--alg",
        action="append",
        choices=ALGS,
        help="signing algorithm to measure; repeatable (default: all)",
    )
    parser.add_argument(
        "--out", type=Path, default=BENCH_DIR / "results.json", help="JSON file for all numbers"
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the servers on kill as on Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)
    load = wrkrun.Load(seconds=3 if args.quick else 10, repeat_if_disturbed=not args.quick)
    tools = ensure_tools()
    workdir = Path(tempfile.mkdtemp(prefix="konnect-bench-"))
    started = time.monotonic()
    results = Results(
        meta={
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": args.quick,
            "wrk_args": (
                f"-t{load.threads} -c{'/'.join(map(str, CONCURRENCIES))} "
                f"-d{load.seconds:.0f}s --latency"
            ),
            "cpus": os.cpu_count() or 1,
            "algs": args.alg or list(ALGS),
            "seconds": load.seconds,
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "tools": tools,
        }
    )
    try:
        fx = fixtures.create(workdir)
        run_all(results, fx, load, results.meta["algs"])
    except KeyboardInterrupt:
        log("interrupted, servers stopped")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results.meta["duration_s"] = round(time.monotonic() - started, 1)
    found = print_report(results)
    write_json(args.out, results, found)
    log(f"wrote {args.out} in {results.meta['duration_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
