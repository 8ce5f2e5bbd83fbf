"""What metrics and the audit log cost the token endpoint: bench/observe_run [--seconds N]
[--rounds N] [--alg ALG] [--observe both|metrics|audit|none].

Two konnects (one worker each, the same keys and registry) run side by side: one plain, one
with `--metrics-listen` and `--audit-log FILE` (or only one of them, or neither, by
`--observe`). wrk (`-t2 -c16`) loads one at a time with the `client_credentials` and the
`refresh_token` grant, in alternating rounds (plain first, then observed first, ...) so that
a change in the machine's load falls on both alike. Per scenario it prints each round and
then, over all rounds, requests/s and the server's CPU milliseconds per request of both, and
their ratios observed / plain; then the CPU time that reporting one request to the metrics
and the audit log takes, measured in this process. Goal: requests/s at least 0.97 and CPU
per request at most 1.03 (the median of the rounds' ratios).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run as a file: import the bench package from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fixtures, report, wrkrun
from bench.bench import (
    apt_install,
    free_port,
    konnect_command,
    plan_scenarios,
    sample,
    server_env,
)
from bench.fixtures import Fixtures
from bench.procs import ServerProcess, cpu_seconds
from konnect.observe import AuditLog, Events
from konnect.observe.metrics import Metrics

SCENARIOS = (report.CLIENT_CREDENTIALS, report.REFRESH)
VARIANTS = ("plain", "observed")
BOUND = 0.03
#: What the observed server reports, by `--observe`.
OBSERVED = {
    "both": "metrics and audit log",
    "metrics": "metrics only",
    "audit": "audit log only",
    "none": "nothing (both servers plain: the benchmark's own error)",
}


@dataclass
class Totals:
    """What one server did in one scenario over all rounds."""

    requests: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    errors: int = 0
    rates: list[float] = field(default_factory=list)
    cpu_ms_by_round: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / max(self.requests, 1)


@dataclass
class Server:
    process: ServerProcess
    base: str
    requests: dict[str, wrkrun.Request]


def start(folder: Path, fx: Fixtures, alg: str, variant: str, observe: str) -> Server:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = folder / variant
    data.mkdir()
    extra = ["--data-dir", str(data)]
    if variant == "observed" and observe in ("both", "metrics"):
        extra += ["--metrics-listen", f"127.0.0.1:{free_port()}"]
    if variant == "observed" and observe in ("both", "audit"):
        extra += ["--audit-log", str(folder / "audit.jsonl")]
    args = konnect_command(1)(port, alg, fx, extra)
    process = ServerProcess(variant, args, folder / f"{variant}.log", server_env({}), None)
    process.start()
    try:
        process.wait_ready(base + "/health-check")
        plan = plan_scenarios("konnect", base, fx)
        requests = {name: plan.requests[name] for name in SCENARIOS}
        for name, request in requests.items():
            answer = sample(request)
            if not answer.is_success:
                raise RuntimeError(f"{variant} {name}: {answer.status_code} {answer.text[:200]}")
    except Exception:
        process.stop()
        raise
    return Server(process, base, requests)


def measure(server: Server, scenario: str, load: wrkrun.Load, totals: Totals) -> float:
    """One wrk run; adds to totals and returns its requests/s."""
    pids = server.process.pids()
    before = cpu_seconds(pids)
    result = wrkrun.run(server.requests[scenario], load)
    cpu = cpu_seconds(pids) - before
    totals.cpu += cpu
    totals.cpu_ms_by_round.append(cpu * 1000 / max(result.requests, 1))
    totals.requests += result.requests
    totals.seconds += result.seconds
    totals.errors += result.non_2xx + result.socket_errors
    totals.rates.append(result.rate)
    return result.rate


def alternate(
    servers: dict[str, Server],
    scenario: str,
    rounds: int,
    load: wrkrun.Load,
    totals: dict[str, Totals],
) -> None:
    """Warm both up, then measure them in turns, the other one first every second round."""
    for server in servers.values():
        wrkrun.run(server.requests[scenario], wrkrun.Load(seconds=1))
    for number in range(rounds):
        order = VARIANTS if number % 2 == 0 else VARIANTS[::-1]
        rates = {
            variant: measure(servers[variant], scenario, load, totals[variant]) for variant in order
        }
        print(
            f"{scenario:20} round {number + 1}: plain {rates['plain']:7.0f} req/s, "
            f"observed {rates['observed']:7.0f} req/s",
            flush=True,
        )


def run(seconds: float, rounds: int, alg: str, observe: str) -> dict[str, dict[str, Totals]]:
    if shutil.which("wrk") is None:
        apt_install("wrk")
    load = wrkrun.Load(seconds=seconds)
    totals = {scenario: {variant: Totals() for variant in VARIANTS} for scenario in SCENARIOS}
    with tempfile.TemporaryDirectory(prefix="konnect-observe-bench-") as temp:
        folder = Path(temp)
        fx = fixtures.create(folder)
        servers: dict[str, Server] = {}
        try:
            for variant in VARIANTS:
                servers[variant] = start(folder, fx, alg, variant, observe)
            for scenario in SCENARIOS:
                alternate(servers, scenario, rounds, load, totals[scenario])
        finally:
            for server in servers.values():
                server.process.stop()
    return totals


def report_one_request(events: Events) -> None:
    """What a refresh_token request reports: its answer, signature, store calls and token."""
    events.request("/konnect/v1/token", "POST", 200, 0.001)
    with events.signing("PS256"):
        pass
    if events.metrics is not None:  # what TimedStore observes
        for operation in ("get", "swap", "get"):
            events.metrics.store_seconds.observe(0.0001, operation)
    events.token_issued("refresh_token", "bench", False, "PS256", "openid profile", "bench")


def events_cost_us(folder: Path, rounds: int = 20_000) -> dict[str, float]:
    """CPU microseconds `report_one_request` takes, in this process, per configuration."""
    variants = {
        "metrics": Events(Metrics()),
        "audit log": Events(audit=AuditLog.open(str(folder / "cost.jsonl"))),
        "both": Events(Metrics(), AuditLog.open(str(folder / "cost-both.jsonl"))),
    }
    costs = {}
    for name, events in variants.items():
        start = time.process_time()
        for _ in range(rounds):
            report_one_request(events)
        costs[name] = (time.process_time() - start) * 1e6 / rounds
    return costs


def print_report(totals: dict[str, dict[str, Totals]], alg: str, observe: str) -> bool:
    print(f"\nobserved: {OBSERVED[observe]}")
    print(
        f"{'scenario (' + alg + ')':24} {'plain req/s':>12} {'observed':>9} {'ratio':>6}"
        f" {'median':>6} {'plain CPU ms/req':>17} {'observed':>9} {'ratio':>6} {'median':>6}"
        " errors  req/s ratio by round"
    )
    met = True
    for scenario, by_variant in totals.items():
        plain, observed = by_variant["plain"], by_variant["observed"]
        rate_ratio = observed.rate / plain.rate if plain.rate else 0.0
        cpu_ratio = observed.cpu_ms / plain.cpu_ms if plain.cpu_ms else 0.0
        rate_median = _median_ratio(observed.rates, plain.rates)
        cpu_median = _median_ratio(observed.cpu_ms_by_round, plain.cpu_ms_by_round)
        met &= rate_median >= 1 - BOUND and cpu_median <= 1 + BOUND
        print(
            f"{scenario:24} {plain.rate:12.0f} {observed.rate:9.0f} {rate_ratio:6.3f}"
            f" {rate_median:6.3f} {plain.cpu_ms:17.3f} {observed.cpu_ms:9.3f} {cpu_ratio:6.3f}"
            f" {cpu_median:6.3f} {plain.errors + observed.errors:6}"
            f"  {_spread(plain.rates, observed.rates)}"
        )
    with tempfile.TemporaryDirectory(prefix="konnect-observe-cost-") as temp:
        costs = events_cost_us(Path(temp))
    print(
        "CPU per request of reporting alone (in-process): "
        + ", ".join(f"{name} {cost:.1f} us" for name, cost in costs.items())
    )
    verdict = "met" if met else "NOT met"
    print(
        f"goal: observed within {BOUND:.0%} of plain in req/s and CPU per request"
        f" (the median of the rounds' ratios): {verdict}"
    )
    return met


def _median_ratio(observed: list[float], plain: list[float]) -> float:
    """The median of the rounds' ratios observed / plain: a burst of load from elsewhere on
    the machine skews one round, not the result."""
    ratios = [mine / theirs for mine, theirs in zip(observed, plain, strict=True) if theirs]
    return statistics.median(ratios) if ratios else 0.0


def _spread(plain: list[float], observed: list[float]) -> str:
    ratios = [mine / theirs for mine, theirs in zip(observed, plain, strict=True) if theirs]
    return f"{min(ratios):.3f}-{max(ratios):.3f}" if ratios else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="wrk duration per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per server and scenario")
    parser.add_argument("--alg", default="PS256", choices=("PS256", "ES256"))
    parser.add_argument("--observe", default="both", choices=tuple(OBSERVED))
    args = parser.parse_args(argv)
    totals = run(args.seconds, args.rounds, args.alg, args.observe)
    return 0 if print_report(totals, args.alg, args.observe) else 1


if __name__ == "__main__":
    sys.exit(main())
