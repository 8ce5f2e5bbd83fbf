"""Result rows, ratios, the Markdown tables and the target summary."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

BARE = "bare-starlette"
KONNECT = "konnect"
KONNECT_2W = "konnect-2w"
NODE = "node-oidc-provider"
KONNECT_SERVERS = (KONNECT, KONNECT_2W)

DISCOVERY = "discovery"
JWKS = "jwks"
USERINFO = "userinfo"
REFRESH = "refresh_token"
CLIENT_CREDENTIALS = "client_credentials"
CODE_FLOW = "code flow"
SIGN_IN = "sign-in"
TOKEN_SCENARIOS = (REFRESH, CLIENT_CREDENTIALS, CODE_FLOW)
#: The scenarios judged against node-oidc-provider: everything that signs or verifies a token.
NODE_TARGET_SCENARIOS = (CLIENT_CREDENTIALS, REFRESH, CODE_FLOW, USERINFO)
NODE_TARGET_RATIO = 1.3


@dataclass
class Row:
    """One scenario against one server with one signing algorithm."""

    scenario: str
    alg: str
    server: str
    status: str = "ok"
    """ok, not supported, n/a or failed."""
    note: str = ""
    connections: int = 16
    rate: float | None = None
    """Requests per second (for the code flow: complete flows per second)."""
    requests: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    token_p99_ms: float | None = None
    """Code flow only: p99 of the code exchange request alone."""
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    """VmHWM during the measurement, summed over the server's processes."""
    peak_rss_worker_mb: float | None = None
    """The largest VmHWM of a single process of the server."""
    non_2xx: int | None = None
    socket_errors: int | None = None
    seconds: float | None = None
    """Length of the measured period."""
    other_cpu_s: float | None = None
    """CPU time used by processes other than the server, wrk and the benchmark meanwhile."""
    ratio_bare: float | None = None
    ratio_node: float | None = None


@dataclass
class Startup:
    """One server start: cold start time and memory when idle."""

    server: str
    alg: str
    status: str = "ok"
    note: str = ""
    cold_start_s: float | None = None
    idle_rss_mb: float | None = None
    idle_rss_worker_mb: float | None = None
    processes: int | None = None


@dataclass
class Target:
    name: str
    verdict: str
    """met, not met or unknown."""
    detail: str


def find(
    rows: Iterable[Row], scenario: str, alg: str, server: str, connections: int = 16
) -> Row | None:
    wanted = (scenario, alg, server, connections)
    for row in rows:
        if (row.scenario, row.alg, row.server, row.connections) == wanted and row.status == "ok":
            return row
    return None


def cpu_ms_per_request(row: Row) -> float | None:
    """CPU milliseconds of the server per request (code flow: per complete flow, like its
    rate)."""
    if row.cpu_s is None or not row.requests:
        return None
    units = row.requests // 2 if row.scenario == CODE_FLOW else row.requests
    return 1000.0 * row.cpu_s / max(units, 1)


def cores_used(row: Row) -> float | None:
    if row.cpu_s is None or not row.seconds:
        return None
    return row.cpu_s / row.seconds


def token_p99(row: Row) -> float | None:
    """p99 of the token request: the code exchange alone for the code flow."""
    return row.token_p99_ms if row.scenario == CODE_FLOW else row.p99_ms


def _ratio(row: Row, other: Row | None) -> float | None:
    if other is None or not other.rate or row.rate is None:
        return None
    return row.rate / other.rate


def add_ratios(rows: list[Row]) -> None:
    for row in rows:
        if row.server not in KONNECT_SERVERS or row.status != "ok":
            continue
        key = (row.scenario, row.alg)
        if row.scenario in (DISCOVERY, JWKS):
            row.ratio_bare = _ratio(row, find(rows, *key, BARE, row.connections))
        row.ratio_node = _ratio(row, find(rows, *key, NODE, row.connections))


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def _rate(value: float | None) -> str:
    return _num(value, 1 if value is not None and value < 100 else 0)


def _ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def results_table(rows: list[Row], connections: int) -> str:
    lines = [
        f"{connections} connections:",
        "",
        "| scenario | alg | server | req/s | CPU ms/req | cores | p50 ms | p99 ms | peak RSS MB "
        "| vs bare starlette | vs node-oidc-provider | non-2xx |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.connections != connections:
            continue
        if row.status != "ok":
            lines.append(
                f"| {row.scenario} | {row.alg} | {row.server} | {row.status} "
                "| - | - | - | - | - | - | - | - |"
            )
            continue
        lines.append(
            f"| {row.scenario} | {row.alg} | {row.server} | {_rate(row.rate)} "
            f"| {_num(cpu_ms_per_request(row), 3)} | {_num(cores_used(row), 2)} "
            f"| {_num(row.p50_ms, 2)} | {_num(row.p99_ms, 2)} "
            f"| {_num(row.peak_rss_mb)} | {_ratio_text(row.ratio_bare)} "
            f"| {_ratio_text(row.ratio_node)} | {row.non_2xx if row.non_2xx is not None else '-'} |"
        )
    return "\n".join(lines)


def startup_table(startups: list[Startup]) -> str:
    lines = [
        "| server | alg | cold start s | idle RSS MB (all processes) | idle RSS MB (largest) |",
        "|---|---|---:|---:|---:|",
    ]
    for item in startups:
        if item.status != "ok":
            lines.append(f"| {item.server} | {item.alg} | {item.status} | - | - |")
            continue
        lines.append(
            f"| {item.server} | {item.alg} | {_num(item.cold_start_s, 2)} "
            f"| {_num(item.idle_rss_mb)} | {_num(item.idle_rss_worker_mb)} |"
        )
    return "\n".join(lines)


def notes(rows: list[Row], startups: list[Startup]) -> list[str]:
    """The reason behind every row or start that has no number."""
    items: list[tuple[str, str, str, str, str]] = [
        (s.server, s.alg, "start", s.status, s.note) for s in startups
    ]
    items += [(r.server, r.alg, f"{r.scenario} c{r.connections}", r.status, r.note) for r in rows]
    seen: list[str] = []
    for server, alg, scenario, status, note in items:
        if not note:
            continue
        label = "" if status == "ok" else f"{status} - "
        text = f"{server} {alg} {scenario}: {label}{note}"
        if text not in seen:
            seen.append(text)
    return seen


def busy_warning(rows: list[Row], capacity_cpu_s: float) -> str | None:
    """A warning when other processes took over 10% of the CPUs during measurements."""
    busy = [
        row
        for row in rows
        if row.other_cpu_s is not None and row.other_cpu_s > 0.1 * capacity_cpu_s
    ]
    if not busy:
        return None
    worst = max(busy, key=lambda row: row.other_cpu_s or 0.0)
    return (
        f"busy machine: other processes used over 10% of the CPUs during {len(busy)} of "
        f"{len(rows)} rows (worst {worst.other_cpu_s:.1f} CPU s of {capacity_cpu_s:.0f} in "
        f"{worst.scenario} {worst.alg} {worst.server}); compare ratios with care."
    )


def _verdict(checks: list[tuple[str, bool | None]]) -> tuple[str, str]:
    if not checks:
        return "unknown", "nothing measured"
    detail = ", ".join(text for text, _ in checks)
    if any(ok is False for _, ok in checks):
        return "not met", detail
    if any(ok is None for _, ok in checks):
        return "unknown", detail
    return "met", detail


def _discovery_target(rows: list[Row], algs: Iterable[str]) -> Target:
    checks: list[tuple[str, bool | None]] = []
    for alg in algs:
        for scenario in (DISCOVERY, JWKS):
            row = find(rows, scenario, alg, KONNECT)
            if row is None:
                checks.append((f"{scenario} {alg}: no result", None))
                continue
            for label, ratio, limit in (
                ("bare", row.ratio_bare, 0.9),
                ("node", row.ratio_node, 1.5),
            ):
                ok = None if ratio is None else ratio >= limit
                checks.append((f"{scenario} {alg} {_ratio_text(ratio)} {label}", ok))
    verdict, detail = _verdict(checks)
    return Target("discovery/JWKS >= 0.9x bare and >= 1.5x node", verdict, detail)


def _node_target(rows: list[Row], algs: Iterable[str], concurrencies: Iterable[int]) -> Target:
    checks: list[tuple[str, bool | None]] = []
    for alg in algs:
        for connections in concurrencies:
            for scenario in NODE_TARGET_SCENARIOS:
                label = f"{scenario} {alg} c{connections}"
                row = find(rows, scenario, alg, KONNECT, connections)
                if row is None:
                    checks.append((f"{label}: {_status(rows, scenario, alg, connections)}", False))
                    continue
                ok = None if row.ratio_node is None else row.ratio_node >= NODE_TARGET_RATIO
                checks.append((f"{label} {_ratio_text(row.ratio_node)}", ok))
    verdict, detail = _verdict(checks)
    name = f"token scenarios and userinfo >= {NODE_TARGET_RATIO}x node (same alg, connections)"
    return Target(name, verdict, detail)


def _status(rows: list[Row], scenario: str, alg: str, connections: int) -> str:
    key = (scenario, alg, KONNECT, connections)
    found = (r.status for r in rows if (r.scenario, r.alg, r.server, r.connections) == key)
    return next(found, "no result")


def _p99_target(rows: list[Row], algs: Iterable[str], concurrencies: Iterable[int]) -> Target:
    checks: list[tuple[str, bool | None]] = []
    for alg in algs:
        for connections in concurrencies:
            for scenario in TOKEN_SCENARIOS:
                row = find(rows, scenario, alg, KONNECT, connections)
                node = find(rows, scenario, alg, NODE, connections)
                if row is None or node is None:
                    continue
                ours, theirs = token_p99(row), token_p99(node)
                ok = None if ours is None or theirs is None else ours < theirs
                text = (
                    f"{scenario} {alg} c{connections} {_num(ours, 1)} ms (node {_num(theirs, 1)})"
                )
                checks.append((text, ok))
    verdict, detail = _verdict(checks)
    return Target("token request p99 below node's (same alg, connections)", verdict, detail)


def _memory_target(rows: list[Row], startups: list[Startup]) -> Target:
    checks: list[tuple[str, bool | None]] = []
    idle = [s.idle_rss_worker_mb for s in startups if s.server == KONNECT and s.idle_rss_worker_mb]
    if idle:
        checks.append((f"idle {max(idle):.1f} MB (< 80)", max(idle) < 80))
    loaded = [
        (row.peak_rss_worker_mb, row.scenario)
        for row in rows
        if row.server == KONNECT and row.status == "ok" and row.peak_rss_worker_mb
    ]
    if loaded:
        peak, scenario = max(loaded)
        checks.append((f"peak {peak:.1f} MB in {scenario} (< 150)", peak < 150))
        others = [size for size, name in loaded if name != SIGN_IN]
        if scenario == SIGN_IN and others:
            checks.append((f"{max(others):.1f} MB without sign-in", max(others) < 150))
    verdict, detail = _verdict(checks)
    return Target("worker RSS < 80 MB idle, < 150 MB at full load", verdict, detail)


def _cold_start_target(startups: list[Startup]) -> Target:
    times = [s.cold_start_s for s in startups if s.server == KONNECT and s.cold_start_s]
    if not times:
        return Target("cold start < 1.5 s", "unknown", "konnect did not start")
    worst = max(times)
    verdict = "met" if worst < 1.5 else "not met"
    return Target("cold start < 1.5 s", verdict, f"slowest {worst:.2f} s")


def targets(
    rows: list[Row], startups: list[Startup], algs: Iterable[str], concurrencies: Iterable[int]
) -> list[Target]:
    """The performance targets, judged on konnect with one worker."""
    algs, concurrencies = list(algs), list(concurrencies)
    return [
        _discovery_target(rows, algs),
        _node_target(rows, algs, concurrencies),
        _p99_target(rows, algs, concurrencies),
        _memory_target(rows, startups),
        _cold_start_target(startups),
    ]
