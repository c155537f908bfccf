"""The import layers of the package, checked on the source with ``ast``.

Layers, lowest first (docs/design.md, "Layers"):

0. ``xinit_bench.kernels.*`` -- the Numba kernels; they import nothing of
   ``xinit_bench`` outside ``kernels``.
1. the core API: the top-level modules ``xinit_bench/*.py`` (samplers, init,
   schemes, gains, gauss, activations, fans, validation, runtime, reference,
   ...).  No import cycle among them.
2. the adapters ``xinit_bench.{torch,dask,keras,jax}.*`` -- peers
   that must not import each other; they reach the laws through the plan
   layer of the core (``xinit_bench.plans``).
3. ``xinit_bench.propagation.*`` and ``xinit_bench.perf.*`` -- peers that must
   not import each other.
3.5. ``xinit_bench.training.*`` -- the training study, which uses the
   propagation theory and the torch adapter.
4. ``xinit_bench.cli.*`` -- the command line.

A module may import its own layer and the layers below, never one above.
Modules are found on disk, so a new core module is covered as soon as it
exists; a new subpackage of ``xinit_bench`` fails the test until ``GROUPS``
gives it a layer.  Inside the core, the plan layer (``xinit_bench.plans``)
sits above the helpers it uses and below the modules that draw (``init``,
``samplers``, ``batch``): making a law draws nothing and changes no state.

The facade ``xinit_bench/__init__.py`` re-exports the core's public names.  It
may import the core (layers 0 and 1) only; and only ``perf`` and the CLI
may import it (the benchmarks and the CLI call the public API
as a user does).  Kernels, the core and propagation import the specific
modules they use, so that their dependencies are visible to this test.

Every import is checked: at the top of a module, inside functions, and in
``if TYPE_CHECKING:`` blocks -- a type-only import that points upward is
still a dependency on a higher layer, so it is not exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.structure


ROOT = Path(__file__).resolve().parents[2]


PACKAGES = {"xinit_bench": ROOT / "xinit_bench", "xinit_bench.kernels": ROOT / "kernels"}


FACADE = "xinit_bench"


def modules() -> dict[str, Path]:
    """Every module of the source tree by dotted name (packages by their own name)."""
    found: dict[str, Path] = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            if "__pycache__" in rel.parts:
                continue
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if pkg == "xinit_bench" and parts[:1] == ["kernels"]:
                continue
            found[name] = path
    return found


MODULES = modules()


#: The layer of every subpackage of ``xinit_bench``; the top-level modules are the core, layer 1.
GROUPS = {
    "kernels": 0,
    "torch": 2,
    "dask": 2,
    "keras": 2,
    "jax": 2,
    "perf": 3,
    "propagation": 3,
    # The training study stands on the propagation theory (critical gains, depth scales): above layer 3, below the CLI.
    "training": 3.5,
    "cli": 4,
}


def layer(module: str) -> tuple[int, str]:
    """``(layer, group)`` of a module; the group tells the peers of one layer apart."""
    if module == FACADE:
        return 1, "facade"
    parts = module.split(".")
    if len(parts) == 2 and MODULES[module].name != "__init__.py":
        return 1, "core"
    assert parts[1] in GROUPS, f"the subpackage xinit_bench.{parts[1]} has no layer: add it to GROUPS"
    return GROUPS[parts[1]], parts[1]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> set[str]:
    """The modules of this project that ``module`` imports, anywhere in its source."""
    tree = ast.parse(MODULES[module].read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            # ``from pkg import name`` imports the module pkg.name when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            if t == "kernels" or t.startswith("kernels."):  # the source folder, if imported by that name
                t = "xinit_bench." + t
            if t == FACADE or t.startswith(FACADE + "."):
                while t not in MODULES and "." in t:  # an attribute of a module: the module
                    t = t.rsplit(".", 1)[0]
                out.add(t)
    out.discard(module)
    return out


GRAPH = {m: imports(m) for m in MODULES}


def test_the_map_knows_every_module() -> None:
    assert "xinit_bench.validation" in MODULES and "xinit_bench.kernels.fill" in MODULES
    for m in MODULES:
        layer(m)


def test_every_subpackage_on_disk_has_a_layer() -> None:
    # Found from the folders, not from a list kept by hand: a new package is refused until it has a layer.
    packages = {p.parent.name for p in PACKAGES[FACADE].glob("*/__init__.py")} | {"kernels"}
    assert {"torch", "dask", "propagation", "perf", "cli"} <= packages
    assert packages <= set(GROUPS), sorted(packages - set(GROUPS))
    assert {layer(m)[1] for m in MODULES} <= set(GROUPS) | {"core", "facade"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_points_upward(module: str) -> None:
    mine, group = layer(module)
    for target in sorted(GRAPH[module]):
        theirs, their_group = layer(target)
        assert theirs <= mine, f"{module} (layer {mine}) imports {target} (layer {theirs})"
        if mine == theirs and mine in (2, 3):
            assert group == their_group, f"{module} ({group}) imports its peer {target} ({their_group})"
        if group == "kernels":
            assert their_group == "kernels", f"kernel module {module} imports {target}"
        if target == FACADE:
            assert group in ("perf", "cli"), (
                f"{module} imports the facade xinit_bench; import the core module you use instead"
            )
        if module == FACADE:
            assert their_group in ("core", "kernels"), f"the facade imports {target}"


def _cycle(nodes: set[str]) -> list[str] | None:
    """One import cycle among ``nodes``, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for t in sorted(GRAPH[n] & nodes):
            if state.get(t) == 1:
                return [*stack[stack.index(t) :], t]
            if t not in state and (found := visit(t)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(nodes):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_cycle_among_core_modules() -> None:
    core = {m for m in MODULES if layer(m)[1] == "core"}
    assert len(core) > 5
    assert _cycle(core) is None, " -> ".join(_cycle(core) or [])


def test_no_import_cycle_within_any_layer() -> None:
    for group in GROUPS:
        nodes = {m for m in MODULES if layer(m)[1] == group and MODULES[m].name != "__init__.py"}
        assert _cycle(nodes) is None, (group, _cycle(nodes))


def test_the_checker_sees_what_it_must() -> None:
    # The graph must be able to fail: gains imports gauss, propagation imports the core, and a
    # cycle planted between two core modules is found.
    assert "xinit_bench.gauss" in GRAPH["xinit_bench.gains"]
    assert "xinit_bench.gains" in GRAPH["xinit_bench.propagation.critical"]
    assert "xinit_bench._rng" in GRAPH["xinit_bench.propagation.network"]  # a from-import of a name
    saved = set(GRAPH["xinit_bench.gauss"])
    try:
        GRAPH["xinit_bench.gauss"].add("xinit_bench.gains")
        assert _cycle({"xinit_bench.gains", "xinit_bench.gauss"}) is not None
    finally:
        GRAPH["xinit_bench.gauss"] = saved


def reach(module: str) -> set[str]:
    """Every module that ``module`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


#: The plan layer, the core modules that draw through it, and the state it must not touch.
PLANS = "xinit_bench.plans"
DRAWING = ("xinit_bench.init", "xinit_bench.samplers", "xinit_bench.batch")
STATEFUL = ("xinit_bench._rng", "xinit_bench.launch", "xinit_bench.runtime")


def test_the_plan_layer_sits_between_the_helpers_and_the_modules_that_draw() -> None:
    below = reach(PLANS)
    assert "xinit_bench.validation" in below and "xinit_bench.laws" in below
    for module in DRAWING:
        assert PLANS in GRAPH[module], f"{module} does not reach its laws through {PLANS}"
        assert module not in below, f"{PLANS} reaches {module}, which draws"
    for module in STATEFUL:
        assert module not in below, f"{PLANS} reaches {module}: making a law must not touch streams or threads"
    for group in ("torch", "dask"):
        assert any(PLANS in GRAPH[m] for m in MODULES if layer(m)[1] == group), group
    # The check can fail: a helper of the plan layer that imported the samplers would be seen.
    saved = set(GRAPH["xinit_bench.laws"])
    try:
        GRAPH["xinit_bench.laws"].add("xinit_bench.samplers")
        assert "xinit_bench.samplers" in reach(PLANS)
    finally:
        GRAPH["xinit_bench.laws"] = saved
