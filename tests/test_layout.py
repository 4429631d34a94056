"""The layout the project promises: the core runs without the demo's extras, and stays in small modules.

* ``l1bsr_core`` (and the ``l1bsr`` command line) never imports gradio, matplotlib or pillow:
  checked in a fresh interpreter in which importing them fails, as after ``pip install .``
  without the ``demo`` extra;
* those three are dependencies of the ``demo`` extra only;
* no module of ``l1bsr_core`` is a grab-bag of more than :data:`MAX_CORE_MODULE_LINES` lines.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile

from support import PROJECT

DEMO_ONLY = ("gradio", "matplotlib", "PIL")
"""Top-level packages only the demo may import."""

MAX_CORE_MODULE_LINES = 600

BLOCKER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {DEMO_ONLY!r}:
            raise ImportError(f"{{name}} is a demo extra")
        return None
sys.meta_path.insert(0, Block())
"""


def run_without_demo_extras(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + code, *args], capture_output=True, text=True,
                          cwd=PROJECT, timeout=600, env=env)


def test_the_core_imports_without_the_demo_extras():
    code = f"""
import pkgutil, importlib, l1bsr_core
names = [m.name for m in pkgutil.walk_packages(l1bsr_core.__path__, "l1bsr_core.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in {DEMO_ONLY!r})
print(len(names), leaked)
"""
    result = run_without_demo_extras(code)
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.split(maxsplit=1)
    assert int(count) > 10 and leaked.strip() == "[]"


def test_inference_loads_no_training_code():
    code = """
import sys
from l1bsr_core import inference
print(sorted(m for m in sys.modules if m.startswith("l1bsr_core.train")))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_command_line_works_without_the_demo_extras(random_weights_dir, tmp_path):
    """Both tasks end to end, with the demo's packages impossible to import."""
    import os
    crop = tmp_path / "crop.tif"
    y, x = np.mgrid[:64, :64]
    tifffile.imwrite(crop, np.stack([1000 + 7 * x + 3 * y + 50 * b for b in range(4)], -1).astype(np.uint16))
    env = {**os.environ, "L1BSR_WEIGHTS_DIR": str(random_weights_dir)}
    code = "import sys; from l1bsr_core.cli import main; sys.exit(main(sys.argv[1:]))"
    for task, output in (("superresolution", "sr.tif"), ("registration", "reg.tif")):
        result = run_without_demo_extras(code, str(crop), str(tmp_path / output), "--task", task, env=env)
        assert result.returncode == 0, result.stderr
    assert tifffile.imread(tmp_path / "sr.tif").shape == (128, 128, 4)
    assert tifffile.imread(tmp_path / "reg.tif").shape == (64, 64, 4)
    # and the demo itself is what needs them
    result = run_without_demo_extras("import l1bsr_demo.events")
    assert result.returncode != 0 and "is a demo extra" in result.stderr


def test_demo_packages_are_only_in_the_demo_extra():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {r.split(">")[0].split("<")[0].split("=")[0].strip().lower() for r in requirements}

    demo_only = {"gradio", "matplotlib", "pillow"}
    assert not demo_only & names(project["dependencies"])
    assert demo_only <= names(project["optional-dependencies"]["demo"])
    lines = (PROJECT / "requirements.txt").read_text().splitlines()
    assert demo_only <= names(line for line in lines if line and not line.startswith("#"))


def test_no_core_module_is_a_grab_bag():
    sizes = {path.relative_to(PROJECT).as_posix(): len(path.read_text().splitlines())
             for path in (PROJECT / "l1bsr_core").rglob("*.py")}
    assert sizes and not {path: n for path, n in sizes.items() if n > MAX_CORE_MODULE_LINES}


def test_a_crop_is_processed_without_gdal(example_crops, tmp_path):
    """An L1B crop (its header shows it: 4-band uint16, no GeoTIFF or GDAL tags) needs no rasterio:
    the command's start-up is torch's and little more (issue #27)."""
    code = f"""
import sys
from l1bsr_core.cli import main
status = main([{str(example_crops[0])!r}, {str(tmp_path / "out.tif")!r}, "--task", "registration"])
print(status, sorted(m for m in sys.modules if m.split(".")[0] == "rasterio"))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "[]"]
    assert (tmp_path / "out.tif").exists()
