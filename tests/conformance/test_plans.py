"""Every applicable module of every plan has its test, and no plan lists a module twice."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conformance.plans import PLANS, Plan, module_test_name

HERE = Path(__file__).parent


@pytest.mark.parametrize("plan", PLANS, ids=lambda plan: plan.name)
def test_each_applicable_module_has_its_test(plan: Plan) -> None:
    tree = ast.parse((HERE / plan.test_file).read_text())
    tests = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert [m for m in plan.applicable if module_test_name(m) not in tests] == []
    assert len(set(plan.modules)) == len(plan.modules)
    assert set(plan.not_applicable) <= set(plan.modules)
    assert not {module_test_name(m) for m in plan.not_applicable} & tests


def _expected_failures(plan: Plan) -> int:
    """How many of the plan's module tests are marked xfail."""
    tree = ast.parse((HERE / plan.test_file).read_text())
    names = {module_test_name(module) for module in plan.applicable}
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name in names
        and any("xfail" in ast.unparse(decorator) for decorator in node.decorator_list)
    )


def test_the_readme_table_tells_each_plan_as_it_stands() -> None:
    readme = (HERE.parent.parent / "README.md").read_text()
    for plan in PLANS:
        [row] = [line for line in readme.splitlines() if f"(`{plan.name}`)" in line]
        cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
        xfail = _expected_failures(plan)
        applicable = len(plan.applicable)
        expected = [len(plan.modules), len(plan.not_applicable), applicable - xfail, xfail, 0]
        assert [int(cell) for cell in cells] == expected, plan.name
