"""A plain `pip install .` (a wheel, not the editable install the suite runs from) carries
everything a new site needs: the default theme, the `sitegen init` skeleton and live.js.

The wheel is built from a copy of the repository's tracked files (pip fetches setuptools from
PyPI for the isolated build, as any `pip install .` does) and installed into a virtual
environment that sees this machine's packages for sitegen's dependencies only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, copy_tracked_files


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("packaging")
    source = copy_tracked_files(root / "source")
    wheels = root / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    str(source)], check=True, timeout=600)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    (wheel,) = wheels.glob("sitegen-*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    "--disable-pip-version-check", str(wheel)], check=True, timeout=300)
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The venv's python without PYTHONPATH, which would put a checkout before the wheel."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False, env=env)


def test_the_installed_package_is_the_wheel_not_the_checkout(venv_python: Path,
                                                            tmp_path: Path) -> None:
    result = run(venv_python, "-c", "import sitegen, sitegen.render.theme as t; "
                 "print(sitegen.__file__); print(t.BUILTIN_THEMES)", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    module, themes = result.stdout.splitlines()
    venv = venv_python.parents[1]
    assert Path(module).is_relative_to(venv) and Path(themes).is_relative_to(venv)
    assert (Path(themes) / "newsroom" / "templates" / "article.html").is_file()


def test_init_then_build_and_check_work_from_a_wheel(venv_python: Path, tmp_path: Path) -> None:
    made = run(venv_python, "-m", "sitegen", "init", "desk", "--title", "The Night Desk",
               cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    site = tmp_path / "desk"
    new = run(venv_python, "-m", "sitegen", "new", "Harbor Lights Renewed", "--tag", "Renewals",
              cwd=site)
    assert new.returncode == 0, new.stderr
    built = run(venv_python, "-m", "sitegen", "build", "-q", cwd=site)
    assert built.returncode == 0, built.stderr
    home = (site / "output" / "index.html").read_text(encoding="utf-8")
    assert "The Night Desk" in home and "/css/style.css?v=" in home
    assert (site / "output" / "tags" / "renewals" / "feed.xml").is_file()
    checked = run(venv_python, "-m", "sitegen", "check", cwd=site)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_wheel_holds_every_module_and_live_js(venv_python: Path, tmp_path: Path) -> None:
    """Each sub-package must be listed in pyproject (setuptools does not find them by itself);
    one left out would fail only when its command runs (serve, say)."""
    script = ("import importlib, pkgutil, sitegen\n"
              "from importlib.resources import files\n"
              "names = [m.name for m in pkgutil.walk_packages(sitegen.__path__, 'sitegen.')\n"
              "         if m.name != 'sitegen.__main__']  # that one runs the command line\n"
              "for name in names: importlib.import_module(name)\n"
              "print(' '.join(sorted(names)))\n"
              "print(len(files('sitegen.serve').joinpath('live.js').read_bytes()))\n")
    result = run(venv_python, "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    installed, live_js = result.stdout.splitlines()
    repo = REPO / "sitegen"
    here = {".".join(("sitegen", *p.relative_to(repo).with_suffix("").parts)).removesuffix(".__init__")
            for p in repo.rglob("*.py") if p.name != "__main__.py"} - {"sitegen"}
    assert set(installed.split()) >= here
    assert int(live_js) == (repo / "serve" / "live.js").stat().st_size > 0
