"""Runs the conformance suite and prints the README's table: each OpenID Foundation OP test
plan with its module count, the modules that do not apply, and how many pass."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conformance.plans import PLANS, module_test_name  # noqa: E402


def run_suite(report: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/conformance", f"--junitxml={report}"]
    # pytest's own report goes to stderr, so stdout carries only the table.
    subprocess.run(command, cwd=ROOT, check=False, stdout=sys.stderr)  # noqa: S603


def outcomes(report: Path) -> dict[tuple[str, str], str]:
    """(test file, test name) -> passed, failed or xfail."""
    results = {}
    # The report is pytest's own, written a moment ago into a private directory.
    for case in ElementTree.parse(report).iter("testcase"):  # noqa: S314
        test_file = case.get("classname", "").rsplit(".", 1)[-1] + ".py"
        name = case.get("name", "").split("[", 1)[0]
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif skipped is not None:
            outcome = "xfail" if skipped.get("type") == "pytest.xfail" else "skipped"
        else:
            outcome = "passed"
        previous = results.get((test_file, name))
        # A module run for several profiles passes only if every profile passes.
        results[(test_file, name)] = outcome if previous in (None, "passed") else previous
    return results


def table(results: dict[tuple[str, str], str]) -> tuple[str, int]:
    """The markdown table, and how many applicable modules fail or have no test."""
    failing_total = 0
    lines = [
        "| plan | modules | not applicable | pass | expected failures | fail or missing |",
        "|---|---|---|---|---|---|",
    ]
    for plan in PLANS:
        counts = Counter(
            results.get((plan.test_file, module_test_name(module)), "missing")
            for module in plan.applicable
        )
        failing = len(plan.applicable) - counts["passed"] - counts["xfail"]
        failing_total += failing
        lines.append(
            f"| {plan.title} (`{plan.name}`) | {len(plan.modules)} | "
            f"{len(plan.not_applicable)} | {counts['passed']} | {counts['xfail']} | {failing} |"
        )
    return "\n".join(lines), failing_total


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "conformance.xml"
        run_suite(report)
        text, failing = table(outcomes(report))
    print(text)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
