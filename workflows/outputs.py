"""The contract's output files (`shared/spec/outputs.md`): their content and how they are written.

Files are written to a temporary name and renamed into place, so a reader never sees half a
file and an interrupted run leaves the previous version whole.
"""

import hashlib
import json
import math
import os
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd

FIRM_INDICES_COLUMNS = [
    "firm_id", "cluster", "cluster_code", "envtech", "envexp_vnd", "cp", "emp", "gms", "loan",
    "expt_vnd", "empl", "years", "turn_kvnd",
]
ITEMS_PER_RULE = 1000
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def validation_document(wave: str, findings: pd.DataFrame, all_items: bool = False) -> dict:
    """`validation.json`: every finding of the wave, at most 1,000 items per rule unless all are asked for."""
    counts = Counter(findings["rule"]) if not findings.empty else Counter()
    listed: dict[str, list[dict]] = {"error": [], "warning": []}
    shown_per_rule: Counter = Counter()
    truncated = False
    for item in findings.to_dict("records"):
        if not all_items and shown_per_rule[item["rule"]] >= ITEMS_PER_RULE:
            truncated = True
            continue
        shown_per_rule[item["rule"]] += 1
        listed[item.pop("severity")].append(clean(item))
    return {
        "wave": wave,
        "errors": listed["error"],
        "warnings": listed["warning"],
        "counts": dict(sorted(counts.items())),
        "truncated": truncated,
    }


def validation_html(wave: str, source_name: str, sha256: str, findings: pd.DataFrame) -> str:
    """The survey manager's validation report: the findings grouped by rule group, errors first."""
    from schemas.rules import RULE_GROUPS
    from workflows.rendering import render_html

    sections = []
    for group in sorted(RULE_GROUPS, key=lambda g: g.severity):
        mine = findings[findings["rule"].isin(group.rules)] if not findings.empty else findings
        sections.append({
            "name": group.name, "description": group.description, "severity": group.severity,
            "count": len(mine), "findings": clean(mine.head(ITEMS_PER_RULE).to_dict("records")),
        })
    errors = int((findings["severity"] == "error").sum()) if not findings.empty else 0
    return render_html("validation.html.j2", wave=wave, source_name=source_name, sha256=sha256,
                       sections=sections, errors=errors, warnings=len(findings) - errors)


def validation_files(wave: str, source_name: str, sha256: str, findings: pd.DataFrame,
                     all_items: bool = False) -> dict[str, str]:
    """`validation.json` and its readable twin `validation.html`, by file name."""
    return {"validation.json": json_text(validation_document(wave, findings, all_items)),
            "validation.html": validation_html(wave, source_name, sha256, findings)}


def write_file(path: Path, content: str | bytes) -> None:
    """Write text or bytes to a temporary name, then rename it into place."""
    _write_atomically(path, content)


def json_text(document: dict) -> str:
    return json.dumps(clean(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: Path, document: dict) -> None:
    _write_atomically(path, json_text(document))


def firm_indices_csv(indices: pd.DataFrame) -> str:
    return csv_text(indices[FIRM_INDICES_COLUMNS].sort_values("firm_id"), id_columns=("firm_id",))


def write_csv(path: Path, frame: pd.DataFrame, id_columns: tuple[str, ...] = ()) -> None:
    _write_atomically(path, csv_text(frame, id_columns))


def csv_text(frame: pd.DataFrame, id_columns: tuple[str, ...] = ()) -> str:
    """A CSV file whose free-text cells cannot run as spreadsheet formulas.

    Text that begins with =, +, -, @, a tab or a carriage return gets a leading apostrophe,
    as OWASP advises; ids and numbers are written as they are.
    """
    safe = frame.copy()
    text_columns = [c for c in safe.columns if c not in id_columns and not pd.api.types.is_numeric_dtype(safe[c])]
    for column in text_columns:
        safe[column] = safe[column].map(neutralise_formula)
    if any(safe[c].astype("str").str.contains("\r", regex=False).any() for c in text_columns):
        # pandas leaves a lone carriage return unquoted when lines end in \n; quote by hand.
        lines = [",".join(_quoted(c) for c in safe.columns)]
        lines += [",".join(_quoted(v) for v in row) for row in safe.itertuples(index=False)]
        return "\n".join(lines) + "\n"
    return safe.to_csv(index=False, lineterminator="\n")


def _quoted(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = repr(value) if isinstance(value, float) else str(value)
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def neutralise_formula(value):
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


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


def clean(value):
    """JSON-ready values: numpy scalars as Python numbers, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
