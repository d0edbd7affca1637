"""The import rules of the package, read from the source with ``ast``.

Every ``import`` in ``agentcore/`` is an arrow from the importing module to the imported one,
at module level or inside a function alike; imports under ``if TYPE_CHECKING:`` never run, so
they are not arrows. A package's ``__init__`` is a module of the package's name. An arrow goes to
the module named, not to the packages above it: ``from agentcore.client._http import X`` is an
arrow to ``agentcore.client._http``, ``from agentcore import tools`` one to ``agentcore.tools``
and ``from agentcore import Agent`` one to ``agentcore``.
"""

from __future__ import annotations

import ast
import itertools
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "agentcore"


@dataclass(frozen=True)
class Arrow:
    """``source`` imports ``target`` at ``path:line``."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.path}:{self.line})"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, skipping the body of ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _runtime_imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_imports(node)


def import_graph(root: Path, package: str = PACKAGE) -> tuple[set[str], list[Arrow]]:
    """The modules under ``root/package`` and every arrow out of them (to any module)."""
    files = sorted((root / package).rglob("*.py"))
    modules = {module_name(path, root) for path in files}
    arrows: list[Arrow] = []
    for path in files:
        source = module_name(path, root)
        is_package = path.name == "__init__.py"
        where = path.relative_to(root).as_posix()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = source.split(".")
                    drop = node.level - 1 if is_package else node.level
                    anchor = anchor[: len(anchor) - drop]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            arrows.extend(Arrow(source, target, where, node.lineno) for target in targets)
    return modules, arrows


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def forbidden_arrows(modules: set[str], arrows: Iterable[Arrow]) -> list[str]:
    """Each arrow that breaks a rule of the house, with the rule it breaks."""
    io_code = ("agentcore.client", "agentcore.drivers", "agentcore._run_flow")
    kits = ("agentcore.emulator", "agentcore.testing")
    problems: list[str] = []
    for arrow in arrows:
        source, target = arrow.source, arrow.target
        in_pure_core = _within(source, "agentcore.loop") or _within(source, "agentcore.streaming")
        if in_pure_core and any(_within(target, banned) for banned in (*io_code, *kits)):
            problems.append(f"{arrow}: the loop and streaming/ do no I/O and use no test kit")
        if _within(target, "agentcore.emulator") and not any(
            _within(source, allowed) for allowed in ("agentcore.emulator", "agentcore.cli")
        ):
            problems.append(f"{arrow}: only cli/ may start the emulator")
        if _within(target, "agentcore.testing") and not any(
            _within(source, allowed) for allowed in ("agentcore.emulator", "agentcore.testing")
        ):
            problems.append(f"{arrow}: the test kit sits above the framework")
        if target.split(".")[0] in ("agentcore_sql", "examples", "tools", "tests"):
            problems.append(f"{arrow}: tool packs, examples and tests sit above the framework")
    return problems


def indirect_arrows(
    modules: set[str], arrows: Iterable[Arrow], sources: Iterable[str], banned: Iterable[str]
) -> list[list[Arrow]]:
    """For each module in ``sources``, the shortest chain of arrows to a ``banned`` module."""
    edges: dict[str, list[Arrow]] = {}
    for arrow in arrows:
        if arrow.target in modules:
            edges.setdefault(arrow.source, []).append(arrow)
    banned = tuple(banned)
    chains: list[list[Arrow]] = []
    for source in sorted(sources):
        came_by: dict[str, list[Arrow]] = {source: []}
        frontier = [source]
        found: list[Arrow] | None = None
        while frontier and found is None:
            following: list[str] = []
            for module in frontier:
                for arrow in sorted(edges.get(module, []), key=lambda a: a.target):
                    if arrow.target in came_by:
                        continue
                    came_by[arrow.target] = [*came_by[module], arrow]
                    if any(_within(arrow.target, prefix) for prefix in banned):
                        found = came_by[arrow.target]
                        break
                    following.append(arrow.target)
                if found is not None:
                    break
            frontier = following
        if found is not None:
            chains.append(found)
    return chains


def import_cycles(modules: set[str], arrows: Iterable[Arrow]) -> list[list[Arrow]]:
    """The import cycles among ``modules``, one per strongly connected group, as arrows."""
    edges: dict[str, dict[str, Arrow]] = {module: {} for module in modules}
    for arrow in arrows:
        if arrow.target in modules and arrow.target != arrow.source:
            edges[arrow.source].setdefault(arrow.target, arrow)

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(start: str) -> None:
        # Tarjan's algorithm, iterative so a deep package cannot hit the recursion limit.
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            connect(module)

    cycles: list[list[Arrow]] = []
    for group in groups:
        members = set(group)
        # Walk from the group's first module along arrows inside the group until it closes.
        path = [group[0]]
        while True:
            following = next(t for t in sorted(edges[path[-1]]) if t in members)
            if following in path:
                path = [*path[path.index(following) :], following]
                break
            path.append(following)
        cycles.append([edges[a][b] for a, b in itertools.pairwise(path)])
    return cycles


def describe_cycle(cycle: list[Arrow]) -> str:
    return "import cycle: " + "; ".join(str(arrow) for arrow in cycle)


class TestTheChecker:
    """The checker itself finds what it is meant to find, on a package written for it."""

    def write(self, root: Path, files: dict[str, str]) -> None:
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")

    def test_every_kind_of_import_is_an_arrow_except_type_checking_ones(
        self, tmp_path: Path
    ) -> None:
        self.write(tmp_path, {
            "agentcore/__init__.py": "from agentcore.loop import decide\n",
            "agentcore/loop.py": """\
                from typing import TYPE_CHECKING
                from . import state
                from agentcore import tools
                import agentcore.errors
                if TYPE_CHECKING:
                    from agentcore.client import Client
                else:
                    from agentcore.usage import Usage
                def decide():
                    from agentcore.testing import ScriptedModel
                    from agentcore import Agent
                """,
            "agentcore/state.py": "",
            "agentcore/errors.py": "",
            "agentcore/usage.py": "",
            "agentcore/tools/__init__.py": "from ._tool import tool\n",
            "agentcore/tools/_tool.py": "",
            "agentcore/client/__init__.py": "",
            "agentcore/testing/__init__.py": "",
        })
        _, arrows = import_graph(tmp_path)
        assert sorted((a.source, a.target, a.line) for a in arrows) == [
            ("agentcore", "agentcore.loop", 1),
            ("agentcore.loop", "agentcore", 11),
            ("agentcore.loop", "agentcore.errors", 4),
            ("agentcore.loop", "agentcore.state", 2),
            ("agentcore.loop", "agentcore.testing", 10),
            ("agentcore.loop", "agentcore.tools", 3),
            ("agentcore.loop", "agentcore.usage", 8),
            ("agentcore.loop", "typing", 1),
            ("agentcore.tools", "agentcore.tools._tool", 1),
        ]

    def test_a_forbidden_arrow_is_named_with_its_place(self, tmp_path: Path) -> None:
        self.write(tmp_path, {
            "agentcore/__init__.py": "",
            "agentcore/loop.py": "def f():\n    from agentcore.client._client import Client\n",
            "agentcore/state.py": "import agentcore.testing\n",
            "agentcore/cli/__init__.py": "from agentcore.emulator import Emulator\n",
            "agentcore/agent.py": "from agentcore.emulator import Emulator\nimport examples\n",
            "agentcore/client/__init__.py": "",
            "agentcore/client/_client.py": "",
            "agentcore/emulator/__init__.py": "from agentcore.testing import reply\n",
            "agentcore/testing/__init__.py": "",
        })
        assert sorted(forbidden_arrows(*import_graph(tmp_path))) == [
            "agentcore.agent -> agentcore.emulator (agentcore/agent.py:1): "
            "only cli/ may start the emulator",
            "agentcore.agent -> examples (agentcore/agent.py:2): "
            "tool packs, examples and tests sit above the framework",
            "agentcore.loop -> agentcore.client._client (agentcore/loop.py:2): "
            "the loop and streaming/ do no I/O and use no test kit",
            "agentcore.state -> agentcore.testing (agentcore/state.py:1): "
            "the test kit sits above the framework",
        ]

    def test_an_indirect_path_to_io_code_is_named_arrow_by_arrow(self, tmp_path: Path) -> None:
        self.write(tmp_path, {
            "agentcore/__init__.py": "",
            "agentcore/loop.py": "from agentcore import state\n",
            "agentcore/state.py": "from agentcore.tools import tool\n",
            "agentcore/tools/__init__.py": "from agentcore.client._http import send\n",
            "agentcore/client/__init__.py": "",
            "agentcore/client/_http.py": "",
        })
        chains = indirect_arrows(
            *import_graph(tmp_path), ["agentcore.loop", "agentcore.state"], ["agentcore.client"]
        )
        assert [" -> ".join(arrow.target for arrow in chain) for chain in chains] == [
            "agentcore.state -> agentcore.tools -> agentcore.client._http",
            "agentcore.tools -> agentcore.client._http",
        ]

    def test_a_cycle_is_named_arrow_by_arrow(self, tmp_path: Path) -> None:
        self.write(tmp_path, {
            "agentcore/__init__.py": "",
            "agentcore/a.py": "from agentcore import b\n",
            "agentcore/b.py": "def later():\n    from agentcore.c import thing\n",
            "agentcore/c.py": "import agentcore.a\n",
            "agentcore/d.py": "import agentcore.a\n",
        })
        assert [describe_cycle(cycle) for cycle in import_cycles(*import_graph(tmp_path))] == [
            "import cycle: agentcore.a -> agentcore.b (agentcore/a.py:1); "
            "agentcore.b -> agentcore.c (agentcore/b.py:2); "
            "agentcore.c -> agentcore.a (agentcore/c.py:1)"
        ]


@pytest.fixture(scope="module")
def graph() -> tuple[set[str], list[Arrow]]:
    return import_graph(ROOT)


def test_the_graph_covers_the_whole_package(graph: tuple[set[str], list[Arrow]]) -> None:
    modules, arrows = graph
    assert {"agentcore", "agentcore.loop", "agentcore.streaming.sse", "agentcore.cli"} <= modules
    assert any(a.source == "agentcore.drivers" and a.target == "agentcore.loop" for a in arrows)


def test_no_module_imports_across_a_forbidden_arrow(
    graph: tuple[set[str], list[Arrow]],
) -> None:
    problems = forbidden_arrows(*graph)
    assert not problems, "forbidden imports:\n" + "\n".join(problems)


def test_there_are_no_import_cycles(graph: tuple[set[str], list[Arrow]]) -> None:
    cycles = [describe_cycle(cycle) for cycle in import_cycles(*graph)]
    assert not cycles, "\n".join(cycles)


def test_the_loop_and_streaming_reach_no_io_code_even_through_other_modules(
    graph: tuple[set[str], list[Arrow]],
) -> None:
    modules, arrows = graph
    pure = [m for m in modules if _within(m, "agentcore.loop") or _within(m, "agentcore.streaming")]
    banned = ["agentcore.client", "agentcore.drivers", "agentcore._run_flow",
              "agentcore.emulator", "agentcore.testing", "agentcore.store", "agentcore.cli"]
    chains = indirect_arrows(modules, arrows, pure, banned)
    assert not chains, "the loop and streaming/ reach I/O code:\n" + "\n".join(
        "; ".join(str(arrow) for arrow in chain) for chain in chains
    )
