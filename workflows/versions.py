"""Code versions for Dagster: a short hash of the files an asset's result depends on.

A change to any of them makes the asset stale in the UI and in the stale-wave schedule;
nothing is numbered by hand.
"""

import hashlib

from workflows.paths import PROJECT_ROOT


def code_version(*patterns: str) -> str:
    """Hash of every file matching the glob patterns (relative to the project), in a fixed order."""
    digest = hashlib.sha256()
    for path in sorted({p for pattern in patterns for p in PROJECT_ROOT.glob(pattern) if p.is_file()}):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


