"""Code versions for Dagster, derived: a short hash of exactly the source files an asset runs.

An asset's version covers the module that defines it and every project module that module
imports, transitively (imports inside functions too: they run), plus the non-Python files
it reads (its SQL, its templates, its data), named by glob where the asset is declared or
once in the module that reads them (a module-level `READS` tuple, as the questionnaire
names its forms). A change to any of them makes the asset stale in the UI and in the stale-wave schedule; nothing is listed by hand, and a
change elsewhere (the command line, the UI) makes nothing stale.
"""

import ast
import hashlib
import json
import threading
from functools import cache
from pathlib import Path

from workflows.atomic import write_atomically
from workflows.paths import CACHE_DIR, PROJECT_ROOT

PROJECT_PACKAGES = ("workflows", "schemas")


# Each version handed out, with the files it covers: what a test (or an auditor) reads back.
COVERED: dict[str, frozenset[Path]] = {}


def code_version(module: str, *patterns: str) -> str:
    """Hash of the module's import closure within the project and of every file matching the globs."""
    files = frozenset(covered_files(module, *patterns))
    version = _digest(tuple(sorted(files)))
    COVERED[version] = files
    return version


def files_version(*patterns: str) -> str:
    """Hash of every file matching the globs (the report's colophon names the whole code by it)."""
    return _digest(tuple(sorted({p for pattern in patterns for p in PROJECT_ROOT.glob(pattern) if p.is_file()})))


def covered_files(module: str, *patterns: str) -> set[Path]:
    closure = import_closure(module)
    # A module that reads data files names them once, in a module-level `READS` tuple of globs.
    patterns = (*patterns, *(pattern for path in closure for pattern in _reads(path)))
    globbed = {p for pattern in patterns for p in PROJECT_ROOT.glob(pattern) if p.is_file()}
    return set(closure) | globbed


@cache
def import_closure(module: str) -> frozenset[Path]:
    """The project's source files that importing `module` runs: it, its packages and what they import."""
    seen: set[Path] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        for path in _files_of(name):
            if path in seen:
                continue
            seen.add(path)
            pending.extend(_imports(path))
    return frozenset(seen)


def _files_of(module: str) -> list[Path]:
    """The module's file and its packages' `__init__.py` files, if the module is the project's."""
    parts = module.split(".")
    if parts[0] not in PROJECT_PACKAGES:
        return []
    files = [PROJECT_ROOT.joinpath(*parts[:i], "__init__.py") for i in range(1, len(parts) + 1)]
    files.append(PROJECT_ROOT.joinpath(*parts).with_suffix(".py"))
    return [path for path in files if path.is_file()]


def _imports(path: Path) -> tuple[str, ...]:
    return tuple(_scan_of(path)["imports"])


def _reads(path: Path) -> tuple[str, ...]:
    return tuple(_scan_of(path)["reads"])


@cache
def _scan_of(path: Path) -> dict[str, list[str]]:
    """The file's scan, read and hashed once per process (its imports and its reads both come from it)."""
    return _scanned(path)


# What each source file imports and reads, kept by the digest of its bytes and of this module:
# parsing the project's 65 files took 0.25 s of every run.
SCAN_CACHE = CACHE_DIR / "code_versions.json"
_SCANNER = Path(__file__).read_bytes()
MAX_KEPT_SCANS = 1000
_SCANS_LOCK = threading.Lock()


def _scanned(path: Path) -> dict[str, list[str]]:
    source = path.read_bytes()
    key = hashlib.sha256(_SCANNER + source).hexdigest()
    with _SCANS_LOCK:
        kept = _kept_scans()
        if not isinstance(scan := kept.get(key), dict):
            tree = ast.parse(source, str(path))
            if len(kept) > MAX_KEPT_SCANS:  # scans of files long since edited: start afresh
                kept.clear()
            scan = kept[key] = {"imports": _imports_in(tree), "reads": _reads_in(tree)}
            _keep_scans(kept)
    return scan


@cache
def _kept_scans() -> dict:
    try:
        kept = json.loads(SCAN_CACHE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}


def _keep_scans(kept: dict) -> None:
    """Write the scans atomically; a folder that cannot be written only costs the next run time."""
    try:
        write_atomically(SCAN_CACHE, json.dumps(kept, sort_keys=True))
    except OSError:
        pass


def _imports_in(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            # `from workflows import sql` imports the module workflows.warehouse.sql.
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _reads_in(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "READS" for t in node.targets)
                and isinstance(node.value, ast.Tuple)):
            return [element.value for element in node.value.elts if isinstance(element, ast.Constant)]
    return []


@cache
def _digest(paths: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
