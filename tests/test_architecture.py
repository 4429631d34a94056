"""The import graph of ``l1bsr_core`` reads top-down: no cycle, no import up a layer, inference
knows nothing of training, the core never imports the demo's libraries.

The graph is read from the source with :mod:`ast`, lazy imports inside functions and
``importlib.import_module("l1bsr_core…")`` included. :data:`LAYERS` is the layer order the README's
"Architecture" section shows: a module may import modules of its own layer or of a lower one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "l1bsr_core"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE

LAYERS: tuple[tuple[str, ...], ...] = (
    # 0 names of things: errors, band order and constants
    ("errors", "bands"),
    # 1 arrays, tensors, files, filters, threads, devices, process-wide tuning, an input's level and radiometry
    ("arrays", "tensors", "outputs", "tiff_rows", "geotiff", "filters", "parallel", "devices", "process_tuning",
     "areas", "domain", "radiometry"),
    # 2 image operations, the BGRN file format, georeferenced rasters through GDAL and exports
    ("io", "resample", "warp", "tiling", "metrics", "phase_correlation", "shift_fusion", "georaster", "exports"),
    # 3 classical (network-free) methods and simulators
    ("classical_registration", "misregistration", "simulate", "land_classes", "procedural_noise", "own_nir",
     "scenes"),
    # 4 the networks and their table
    ("models",),
    # 5 weights: registry, checkpoints, loading
    ("weights",),
    # 6 how each network runs at inference
    ("band_alignment", "runtime"),
    # 7 the numpy API
    ("inference",),
    # 8 the commands' shared arguments and network check; one file in, one file out; L1B and L1C/L2A
    # products; the co-registered (L1C/L2A) path
    ("command_kit", "jobs", "products", "coregistered"),
    # 9 many files on Dask
    ("batch",),
    # 10 the command line
    ("cli", "__main__"),
    # 11 training (reads every layer below; nothing below reads it)
    ("train",),
    # 12 the package's lazy facade
    ("__init__",),
)
"""Layers, lowest first; a name is a module or a package of ``l1bsr_core`` (its modules inherit
its layer unless named themselves, e.g. ``models``)."""

FORBIDDEN_LIBRARIES = ("gradio", "matplotlib")
"""The demo's libraries: the core never imports them."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _absolute(importer: str, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import …`` in module ``importer``."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base if _is_package(importer) else base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """``(modules of the package that ``name`` imports, top-level names of the others)``."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, node.level, node.module)
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    internal = {module for module in found if module.split(".")[0] == PACKAGE}
    for module in list(internal):  # ``import l1bsr_core.a.b`` names a module; a missing one is a bug
        if module not in MODULES:
            raise AssertionError(f"{name} imports {module}, which is no module of {PACKAGE}")
    return internal - {name}, {module.split(".")[0] for module in found - internal}


GRAPH = {name: imports_of(name)[0] for name in MODULES}


def layer_of(name: str) -> int:
    """The layer of module ``name``: that of its longest named prefix in :data:`LAYERS`."""
    relative = name[len(PACKAGE) + 1:] if name != PACKAGE else "__init__"
    parts = relative.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        for index, layer in enumerate(LAYERS):
            if prefix in layer:
                return index
    raise AssertionError(f"{name} is in no layer of LAYERS: place it there and in the README")


def _cycle() -> list[str] | None:
    """One import cycle of :data:`GRAPH`, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_graph_is_read():
    assert f"{PACKAGE}.inference" in GRAPH[f"{PACKAGE}.jobs"]  # a lazy import, inside a function
    assert len(MODULES) > 30


def test_no_import_cycle():
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_module_has_a_layer_and_imports_none_above_it():
    upward = [f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
              for name in sorted(GRAPH) for target in sorted(GRAPH[name]) if layer_of(target) > layer_of(name)]
    assert not upward, "imports up a layer:\n" + "\n".join(upward)


def test_only_training_imports_training():
    train = f"{PACKAGE}.train"
    offenders = [f"{name} imports {target}" for name in sorted(GRAPH) if not name.startswith(train)
                 for target in GRAPH[name] if target == train or target.startswith(train + ".")]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("library", FORBIDDEN_LIBRARIES)
def test_the_core_never_imports_the_demo_libraries(library):
    offenders = [name for name in MODULES if library in imports_of(name)[1]]
    assert not offenders, f"{library} imported by {', '.join(offenders)}"
