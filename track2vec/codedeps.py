"""Which code each rule runs, and a digest of it that changes only when the code's behaviour can.

Usage (rules/common.smk)::

    from track2vec.codedeps import CodeIndex

    index = CodeIndex("track2vec")                  # the package's folder
    index.params("scripts/evaluate.py")             # {"code_00": "scripts/evaluate.py 3f2a...", ...}
    index.modules_of("scripts/evaluate.py")         # ["track2vec", "track2vec.atomic", ...]

A rule runs its script and the package modules the script imports, followed transitively
through the package's own imports (those inside functions too). Each of those files gets a
digest of its syntax tree without docstrings: comments, docstrings and formatting do not
change it, any change to what the code does does. The rule passes one digest per file as
``params``, so Snakemake re-runs its jobs (and what follows) when one changes, names the
file in the dry run's reason ("Params have changed since last execution ... before:
'track2vec/train.py 1a2b...' now: 'track2vec/train.py 9c8d...'"), and leaves alone the rules
that do not run it. Params, unlike input files, compare content, not modification times: a
``git checkout`` that rewrites files without changing them re-runs nothing.

Standard library only: the workflow imports it while it builds the DAG.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

__all__ = ["CodeIndex", "code_digest", "imports_of"]

#: hexadecimal digits of a digest kept in the params (48 bits: a collision between two
#: versions of one file is not a concern)
DIGEST_DIGITS = 12


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """The tree with every module, class and function docstring removed (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]
    return tree


def code_digest(source: str) -> str:
    """A digest of Python source that ignores comments, docstrings and formatting.

    Parameters
    ----------
    source : str
        The text of a Python file.

    Returns
    -------
    str
        :data:`DIGEST_DIGITS` hexadecimal digits of the sha256 of the syntax tree without
        docstrings (``ast.dump`` without line numbers).

    Raises
    ------
    SyntaxError
        The source does not parse.
    """
    tree = _without_docstrings(ast.parse(source))
    return hashlib.sha256(ast.dump(tree).encode("utf-8")).hexdigest()[:DIGEST_DIGITS]


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """The absolute names of the modules a Python file imports, at any depth of its code.

    Parameters
    ----------
    source : str
        The file's text.
    module : str
        Its module name (``track2vec.pipeline.train``), to resolve relative imports; for a
        script, any name outside the package.
    is_package : bool
        Whether the file is a package's ``__init__.py``.

    Returns
    -------
    set of str
        ``import a.b`` gives ``a.b``; ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be
        a module); relative imports are resolved against ``module``.

    Notes
    -----
    Imports inside functions count (a step imports TensorFlow's trainer inside its function),
    except inside a module's ``__getattr__`` (PEP 562): that hook runs only when code asks the
    module for an attribute it lacks, as ``track2vec.Recommender`` does for the user, which no
    rule's code does.
    """
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(source)
    hooks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
    for hook in hooks:
        tree.body.remove(hook)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


class CodeIndex:
    """The modules of one package, their imports and their digests.

    Parameters
    ----------
    package_dir : str or pathlib.Path
        The package's folder (``track2vec/``); its name is the package's name.

    Raises
    ------
    FileNotFoundError
        ``package_dir`` holds no ``__init__.py``.
    """

    def __init__(self, package_dir: str | Path) -> None:
        self.package_dir = Path(package_dir).resolve()
        if not (self.package_dir / "__init__.py").is_file():
            raise FileNotFoundError(f"{self.package_dir} is not a Python package (no __init__.py)")
        self.name = self.package_dir.name
        self._import_cache: dict[str, set[str]] = {}
        self._digest_cache: dict[Path, str] = {}
        self.files: dict[str, Path] = {}
        for path in sorted(self.package_dir.rglob("*.py")):
            rel = path.relative_to(self.package_dir.parent).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            self.files[".".join(parts)] = path

    def _imports(self, module: str) -> set[str]:
        """The package modules ``module`` imports (read once)."""
        if module not in self._import_cache:
            path = self.files[module]
            found = imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
            self._import_cache[module] = self._known(found)
        return self._import_cache[module]

    def _known(self, names) -> set[str]:
        """The package modules among ``names``, with the packages that hold them (importing
        ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py``)."""
        out = set()
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in self.files:
                    out.add(prefix)
        return out

    def modules_of(self, script: str | Path) -> list[str]:
        """The package modules a script runs: those it imports, and theirs, transitively.

        Parameters
        ----------
        script : str or pathlib.Path
            A Python file (a rule's script).

        Returns
        -------
        list of str
            Module names, sorted.
        """
        todo = list(self._known(imports_of(Path(script).read_text(encoding="utf-8"), "__script__")))
        seen: set[str] = set()
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo += self._imports(module)
        return sorted(seen)

    def digest(self, path: str | Path) -> str:
        """:func:`code_digest` of a file (read once)."""
        path = Path(path)
        if path not in self._digest_cache:
            self._digest_cache[path] = code_digest(path.read_text(encoding="utf-8"))
        return self._digest_cache[path]

    def params(self, script: str | Path, label: str | None = None) -> dict[str, str]:
        """One Snakemake param per file a rule runs: its script, then each package module.

        Parameters
        ----------
        script : str or pathlib.Path
            The rule's script.
        label : str, optional
            How to name the script in the values (default: ``script`` as given).

        Returns
        -------
        dict
            ``code_00``, ``code_01``, ... -> ``"<file> <digest>"``: the script first, then the
            modules by name, each named by its path from the package's parent folder
            (``track2vec/train.py``). Snakemake compares the values, not the keys.
        """
        out = {"code_00": f"{label or Path(script).as_posix()} {self.digest(Path(script))}"}
        for i, module in enumerate(self.modules_of(script), start=1):
            path = self.files[module]
            out[f"code_{i:02d}"] = f"{path.relative_to(self.package_dir.parent).as_posix()} {self.digest(path)}"
        return out
