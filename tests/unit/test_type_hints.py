# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every public function and method of plugins/module_utils carries type hints.

module_utils hold the collection's decisions; their signatures are the contract the modules,
filters and tests rely on, so each public top-level function, and each public method of a
public top-level class (``__init__`` included, for its parameters), annotates every parameter
(``self`` and ``cls`` aside) and its return value (``__init__`` aside). Read from the source
with ``ast``: nothing is imported, so a file that needs pyvmomi or kubernetes is checked too.
Private helpers (a leading underscore) are free.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

MODULE_UTILS = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils"

# Files this test does not hold to the rule yet, each with the reason. Empty since the branches of
# issue 13 merged: a new module_utils file is type-hinted from its first commit.
PENDING: dict = {}


def _is_staticmethod(function):
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list)


def _unannotated(function, is_method):
    """The names of function's parameters (and 'return') without an annotation."""
    args = function.args
    params = args.posonlyargs + args.args + args.kwonlyargs
    if is_method and params and not _is_staticmethod(function):
        params = params[1:]  # self or cls
    missing = [param.arg for param in params if param.annotation is None]
    if args.vararg is not None and args.vararg.annotation is None:
        missing.append("*" + args.vararg.arg)
    if args.kwarg is not None and args.kwarg.annotation is None:
        missing.append("**" + args.kwarg.arg)
    if function.returns is None and function.name != "__init__":
        missing.append("return")
    return missing


def public_signatures(tree):
    """(qualified name, function node, is_method) of the public API of a module's AST."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, functions) and not node.name.startswith("_"):
            yield node.name, node, False
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for member in node.body:
                if isinstance(member, functions) and (not member.name.startswith("_") or member.name == "__init__"):
                    yield "%s.%s" % (node.name, member.name), member, True


def missing_hints(source):
    """['name: param, return', ...] for every public signature of source lacking a hint."""
    found = []
    for name, function, is_method in public_signatures(ast.parse(source)):
        missing = _unannotated(function, is_method)
        if missing:
            found.append("%s: %s" % (name, ", ".join(missing)))
    return found


FILES = sorted(path.name for path in MODULE_UTILS.glob("*.py") if path.name != "__init__.py")


def test_the_checker_sees_every_kind_of_missing_hint():
    source = (
        "def ok(a: int, *rest: str, flag: bool = False, **more: int) -> None: ...\n"
        "def bare(a, b: int): ...\n"
        "def _private(a): ...\n"
        "class Thing:\n"
        "    def __init__(self, size): ...\n"
        "    def method(self, x: int): ...\n"
        "    @staticmethod\n"
        "    def static(x) -> int: ...\n"
        "    @classmethod\n"
        "    def build(cls) -> 'Thing': ...\n"
        "    def _hidden(self, y): ...\n"
        "    def __repr__(self): ...\n"
        "class _Private:\n"
        "    def method(self, x): ...\n"
        "def star(*args, **kwargs) -> None: ...\n"
    )
    assert missing_hints(source) == [
        "bare: a, return",
        "Thing.__init__: size",
        "Thing.method: return",
        "Thing.static: x",
        "star: *args, **kwargs",
    ]


def test_there_are_files_to_check():
    # A moved directory would make every case below vanish, not fail.
    assert len(FILES) > 10
    assert set(FILES) - set(PENDING)


@pytest.mark.parametrize("name", FILES)
def test_public_functions_of_module_utils_are_type_hinted(name):
    missing = missing_hints((MODULE_UTILS / name).read_text(encoding="utf-8"))
    if name in PENDING:
        if missing:
            pytest.skip("%s pending (%s): %d signature(s) without hints" % (name, PENDING[name], len(missing)))
        pytest.skip("%s is fully type-hinted: remove it from PENDING" % name)
    assert missing == [], "plugins/module_utils/%s: public signatures without type hints:\n  %s" % (
        name, "\n  ".join(missing))
