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
