"""The layers of sitegen's code (the table in sitegen/__init__.py): every import, at the top of a
module or inside a function, goes to the module's own layer or one below it, and no module takes
another package's private (`_name`) names. Read from the source with `ast`, nothing imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sitegen

PACKAGE = Path(sitegen.__file__).resolve().parent

# Top to bottom. The base is the modules directly in sitegen/ (and the package itself, for
# __version__); `python -m sitegen` (__main__) starts the command line, so it is a command.
LAYERS = ("commands", "serve", "pipeline", "incremental", "write", "render", "site", "content",
          "base")
BASE = ("sitegen", "sitegen.errors", "sitegen.model", "sitegen.config", "sitegen.slugs",
        "sitegen.memo", "sitegen.parallel", "sitegen.report", "sitegen.folders",
        "sitegen.text", "sitegen.tree", "sitegen.cachefiles")


def layer_of(module: str) -> str:
    """The layer of a sitegen module; fails for a module the table does not place."""
    if module == "sitegen.__main__":
        return "commands"
    if module in BASE:
        return "base"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS[:-1]:
        return parts[1]
    raise AssertionError(f"{module} is in no layer: put it in a layer's package, or add it to "
                         "the base (here and in sitegen/__init__.py's table)")


def package_of(module: str) -> str:
    """A sub-package for its modules; each base module counts as a package of its own."""
    parts = module.split(".")
    return ".".join(parts[:2]) if layer_of(module) != "base" or module == "sitegen" else module


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))
            if "themes" not in p.relative_to(PACKAGE).parts}


def imports(path: Path, module: str) -> list[tuple[int, str, str | None]]:
    """(line, imported module, name or None) for every sitegen import in the file; relative
    imports are resolved, and `from sitegen.pkg import mod` counts as importing that module."""
    known = modules()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names
                      if a.name.split(".")[0] == "sitegen"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "sitegen":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    found.append((node.lineno, sub, None))
                else:
                    found.append((node.lineno, target, alias.name))
    return found


def violations(module: str, path: Path) -> list[str]:
    here = layer_of(module)
    found = []
    for line, target, name in imports(path, module):
        there = layer_of(target)
        where = f"{path.relative_to(PACKAGE.parent) if path.is_relative_to(PACKAGE) else path}:{line}"
        if LAYERS.index(there) < LAYERS.index(here):
            found.append(f"{where}: {module} ({here}) imports {target} ({there}), a layer above")
        if name is not None and name.startswith("_") and not name.startswith("__") \
                and package_of(target) != package_of(module):
            found.append(f"{where}: {module} takes the private name {name} from {target}")
    return found


def test_the_table_places_every_module() -> None:
    placed = {m: layer_of(m) for m in modules()}
    assert set(placed.values()) == set(LAYERS)  # every layer holds something


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_import_runs_upward_or_takes_private_names(module: str) -> None:
    assert violations(module, modules()[module]) == []


def test_the_package_docstring_lists_the_layers_in_order() -> None:
    doc = sitegen.__doc__ or ""
    table = [line.split()[0] for line in doc.splitlines()
             if line.startswith("    ") and not line.startswith("     ")]
    assert table == [*LAYERS[:-1], "(base)"]
    for module in BASE[1:]:
        assert module.split(".")[1] in doc


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself: a content module importing the pipeline, or another package's private
    name, is reported (an import inside a function, or a relative one, too)."""
    path = tmp_path / "bad.py"
    path.write_text("from sitegen.config import Config\n"
                    "def f():\n    from ..pipeline.build import prepare\n"
                    "from sitegen.render.plan import _Planner\n"
                    "import sitegen.serve.live\n", encoding="utf-8")
    found = violations("sitegen.content.bad", path)
    assert sorted(v.split(": ", 1)[1] for v in found) == sorted([
        "sitegen.content.bad (content) imports sitegen.pipeline.build (pipeline), a layer above",
        "sitegen.content.bad (content) imports sitegen.render.plan (render), a layer above",
        "sitegen.content.bad takes the private name _Planner from sitegen.render.plan",
        "sitegen.content.bad (content) imports sitegen.serve.live (serve), a layer above",
    ])
