"""The package's layering, read from the code: the orchestration package (track2vec.pipeline) sits
on top of the library, the user-facing API never reaches it, and no module reaches into another
module's private names."""

import ast

import pytest

from conftest import ROOT

PACKAGE = ROOT / "track2vec"
#: the user-facing API: what a user imports or runs (none may import the orchestration package)
USER_API = ("track2vec.recommend", "track2vec.radio", "track2vec.cli", "track2vec")


def _module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path):
    """(module imported, names imported from it, line) of every import in the file, at any depth,
    relative imports resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names = [alias.name for alias in node.names]
            out.append((module, names, node.lineno))
            # `from . import report` imports a module, as `import track2vec.report` would
            out += [(f"{module}.{n}", [], node.lineno) for n in names if (PACKAGE / f"{n}.py").exists()]
    return out


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _package_imports(module):
    return {m for m, _, _ in _imports(MODULES[module]) if m in MODULES}


def test_modules_are_found():
    assert {"track2vec.knn", "track2vec.metrics", "track2vec.models", "track2vec.pipeline.evaluate"} <= set(MODULES)
    assert "track2vec.models" in _package_imports("track2vec.metrics")


def test_the_library_never_imports_the_orchestration_package():
    bad = [
        f"{MODULES[m].relative_to(ROOT)}:{line} imports {imp}"
        for m in MODULES
        if not m.startswith("track2vec.pipeline")
        for imp, _, line in _imports(MODULES[m])
        if imp == "track2vec.pipeline" or imp.startswith("track2vec.pipeline.")
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("api", USER_API)
def test_the_user_api_does_not_reach_the_orchestration_package(api):
    seen, todo = set(), [api]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += _package_imports(m)
    assert len(seen) > 1 or api == "track2vec"
    assert not [m for m in seen if m.startswith("track2vec.pipeline")], f"{api} reaches {sorted(seen)}"


def test_no_module_imports_a_private_name_of_another():
    bad = [
        f"{MODULES[m].relative_to(ROOT)}:{line} imports {n} from {imp}"
        for m in MODULES
        for imp, names, line in _imports(MODULES[m])
        if imp.startswith("track2vec")
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not bad, "\n".join(bad)
