"""Units a reader can hold in mind: no class over 200 lines, no function over 60, outside
the tests (the redesign's limits, kept by this test rather than by memory)."""

from __future__ import annotations

import ast

from rag.settings import PROJECT_ROOT

LIMITS = {ast.ClassDef: 200, ast.FunctionDef: 60, ast.AsyncFunctionDef: 60}


def test_no_class_over_200_lines_and_no_function_over_60():
    too_long = []
    for path in sorted([*PROJECT_ROOT.glob("rag/**/*.py"), *PROJECT_ROOT.glob("ui/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            limit = LIMITS.get(type(node))
            if limit and node.end_lineno - node.lineno + 1 > limit:
                too_long.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {node.name}")
    assert not too_long
