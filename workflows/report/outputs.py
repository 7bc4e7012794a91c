"""The contract's output files (`shared/spec/outputs.md`): their content and how they are written.

Files are written to a temporary name and renamed into place, so a reader never sees half a
file and an interrupted run leaves the previous version whole.
"""

import hashlib
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd

from schemas.findings import ITEMS_PER_RULE
from schemas.rules import RULE_GROUPS, error_count
from workflows.warehouse.json_values import clean


def validation_document(wave: str, findings: pd.DataFrame, counts: dict[str, int], all_items: bool = False) -> dict:
    """`validation.json`: every rule's full count and its findings, at most 1,000 per rule unless all are asked for."""
    listed: dict[str, list[dict]] = {"error": [], "warning": []}
    shown_per_rule: Counter = Counter()
    for item in findings.to_dict("records"):
        if not all_items and shown_per_rule[item["rule"]] >= ITEMS_PER_RULE:
            continue
        shown_per_rule[item["rule"]] += 1
        listed[item.pop("severity")].append(clean(item))
    return {
        "wave": wave,
        "errors": listed["error"],
        "warnings": listed["warning"],
        "counts": dict(sorted(counts.items())),
        "truncated": any(shown_per_rule[rule] < n for rule, n in counts.items()),
    }


def validation_html(wave: str, source_name: str, sha256: str, findings: pd.DataFrame, counts: dict[str, int]) -> str:
    """The survey manager's validation report: the findings grouped by rule group, errors first."""
    from workflows.report.rendering import render_html

    sections = []
    for group in sorted(RULE_GROUPS, key=lambda g: g.severity):
        mine = findings[findings["rule"].isin(group.rules)] if not findings.empty else findings
        count = sum(counts.get(rule, 0) for rule in group.rules)
        sections.append({
            "name": group.name, "description": group.description, "severity": group.severity,
            "count": count, "findings": clean(mine.head(ITEMS_PER_RULE).to_dict("records")),
        })
    errors = error_count(counts)
    return render_html("validation.html.j2", wave=wave, source_name=source_name, sha256=sha256,
                       sections=sections, errors=errors, warnings=sum(counts.values()) - errors)


def validation_files(wave: str, source_name: str, sha256: str, findings: pd.DataFrame, counts: dict[str, int],
                     all_items: bool = False) -> dict[str, str]:
    """`validation.json` and its readable twin `validation.html`, by file name."""
    return {"validation.json": json_text(validation_document(wave, findings, counts, all_items)),
            "validation.html": validation_html(wave, source_name, sha256, findings, counts)}


def write_file(path: Path, content: str | bytes) -> None:
    """Write text or bytes to a temporary name, then rename it into place."""
    _write_atomically(path, content)


def json_text(document: dict) -> str:
    return json.dumps(clean(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: Path, document: dict) -> None:
    _write_atomically(path, json_text(document))


def _write_atomically(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
