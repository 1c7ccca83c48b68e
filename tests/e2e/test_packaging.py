"""A plain `pip install .` (a wheel, not the editable install the suite runs from) carries
everything a new site needs: the default theme, the `sitegen init` skeleton and live.js.

The wheel is built from a copy of the repository's tracked files (pip fetches setuptools from
PyPI for the isolated build, as any `pip install .` does) and installed into a virtual
environment that sees this machine's packages for sitegen's dependencies only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_tracked_files


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
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


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
