"""The contract's output files (`shared/spec/outputs.md`): their content and how they are written.

`validation.json`, `validation.html` and `issues.xlsx` are made from one list of findings (the
listed ones: at most 1,000 per rule unless all are asked for), so the page and the workbook
hold exactly the findings of the JSON, never fewer. The page adds what a person fixing the
data needs: a summary of the checks (blocking first), repeated (column, value) pairs with
their rows, the nearest allowed code for a code that is close to one, and a missing column
paired with an unknown one of similar name.

Files are written to a temporary name and renamed into place, so a reader never sees half a
file and an interrupted run leaves the previous version whole.
"""

import difflib
import hashlib
import json
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pandas as pd

from schemas.findings import ITEMS_PER_RULE
from schemas.rules import BLOCKING_RULES, ERROR, RULE_GROUPS, WARNING, error_count
from workflows.atomic import write_atomically
from workflows.warehouse.json_values import clean

# What `validation.json` says of each finding, in its order.
FINDING_FIELDS = ("rule", "column", "row", "firm_id", "value", "message")
# The columns of a finding's staged record that the workbook shows beside it (`staging.findings_of(context=...)`).
CONTEXT_COLUMNS = ("interviewer_id", "interview_date")
# How alike two normalised names must be (difflib's ratio) to be offered as one another.
CLOSE_CODE = 0.75
CLOSE_COLUMN = 0.6
# Rows of a repeated (column, value) pair shown on the page before "and N more" (all stay in the findings table).
SHOWN_ROWS = 50


def listed_findings(findings: pd.DataFrame, all_items: bool = False) -> pd.DataFrame:
    """The findings the files list: each rule's first 1,000 in the findings' order, all when asked for."""
    if all_items or findings.empty:
        return findings
    return findings[findings.groupby("rule", sort=False).cumcount() < ITEMS_PER_RULE]


def validation_document(wave: str, findings: pd.DataFrame, counts: dict[str, int], all_items: bool = False) -> dict:
    """`validation.json`: every rule's full count and its findings, at most 1,000 per rule unless all are asked for."""
    listed = listed_findings(findings, all_items)
    items = _records(listed, ["severity", *FINDING_FIELDS])
    shown = Counter(item["rule"] for item in items)
    return {
        "wave": wave,
        "errors": [_fields(item) for item in items if item["severity"] == ERROR],
        "warnings": [_fields(item) for item in items if item["severity"] != ERROR],
        "counts": dict(sorted(counts.items())),
        "truncated": any(shown[rule] < n for rule, n in counts.items()),
    }


def _records(findings: pd.DataFrame, columns: list[str]) -> list[dict]:
    """The findings as JSON-ready records of these columns (a missing one is null), row numbers as whole numbers."""
    return clean(findings.reindex(columns=columns).astype({"row": "Int64"}).to_dict("records"))


def _fields(item: dict) -> dict:
    return {name: item[name] for name in FINDING_FIELDS}


def validation_files(wave: str, source_name: str, sha256: str, findings: pd.DataFrame, counts: dict[str, int],
                     all_items: bool = False, interviews: dict[str, dict[str, int]] | None = None) -> dict[str, str | bytes]:
    """`validation.json`, its readable twin `validation.html` and the field workbook `issues.xlsx`, by file name.

    `findings` are `staging.findings_of`, with `CONTEXT_COLUMNS` when the workbook should name each
    finding's interviewer and interview date; `interviews` is each interviewer's figures
    (`staging.interviews_per_interviewer`).
    """
    from workflows.report.workbook import issues_workbook

    document = validation_document(wave, findings, counts, all_items)
    items = finding_items(listed_findings(findings, all_items))
    return {"validation.json": json_text(document),
            "validation.html": validation_html(wave, source_name, sha256, items, counts),
            "issues.xlsx": issues_workbook(wave, source_name, sha256, items, counts, interviews or {},
                                           document["truncated"])}


def finding_items(listed: pd.DataFrame) -> list[dict]:
    """The listed findings as the page and the workbook show them: each with its check, severity and suggestion."""
    items = _records(listed, ["severity", *FINDING_FIELDS, *CONTEXT_COLUMNS])
    renamed = renamed_columns(items)
    for item in items:
        item["check"] = check_of(item["rule"], item["severity"])
        item["suggestion"] = suggestion(item, renamed)
        if item["interview_date"] is not None:
            item["interview_date"] = str(item["interview_date"])[:10]
    return items


# The checks of the page and the workbook: blocking ones first, each in its declared order.
CHECKS = tuple(sorted(RULE_GROUPS, key=lambda group: group.severity != ERROR))
_CHECK_OF_RULE = {rule: group.name for group in RULE_GROUPS for rule in group.rules}
# A rule no group declares (a form's own rule, say) still gets a section: its findings are never dropped.
OTHER_CHECKS = {ERROR: "other_blocking_rules", WARNING: "other_warnings"}


def check_of(rule: str, severity: str) -> str:
    return _CHECK_OF_RULE.get(rule) or OTHER_CHECKS[ERROR if severity == ERROR else WARNING]


def checks_with_findings(items: list[dict], counts: dict[str, int]) -> tuple[list[dict], list[dict]]:
    """The checks that found something (blocking first) with their findings, and the checks that passed."""
    found, passed = [], []
    declared = [(g.name, g.description, g.severity, g.rules) for g in CHECKS]
    severity_of = {item["rule"]: item["severity"] for item in items}
    undeclared = sorted({*counts, *severity_of} - set(_CHECK_OF_RULE))
    for severity, name in OTHER_CHECKS.items():
        rules = tuple(rule for rule in undeclared
                      if severity_of.get(rule, ERROR if rule in BLOCKING_RULES else WARNING) == severity)
        if rules:
            declared.append((name, "Rules that no check of the project declares.", severity, rules))
    declared.sort(key=lambda check: check[2] != ERROR)
    for name, description, severity, rules in declared:
        mine = [item for item in items if item["check"] == name]
        count = max(sum(counts.get(rule, 0) for rule in rules), len(mine))
        check = {"name": name, "title": name.replace("_", " ").capitalize(), "description": description,
                 "severity": severity, "count": count, "findings": mine, "listed": len(mine)}
        (found if count else passed).append(check)
    return found, passed


def repeated_values(items: list[dict]) -> list[dict]:
    """The (column, value) pairs found more than once, most frequent first, each with its rows and suggestion."""
    pairs: dict[tuple, list[dict]] = {}
    for item in items:
        if item["column"] is not None and item["value"] is not None:
            pairs.setdefault((item["column"], item["value"]), []).append(item)
    repeated = [{"column": column, "value": value, "count": len(found), "suggestion": found[0]["suggestion"],
                 "rows": [item["row"] for item in found if item["row"] is not None]}
                for (column, value), found in pairs.items() if len(found) > 1]
    return sorted(repeated, key=lambda pair: (-pair["count"], pair["column"], pair["value"]))


def _key(text: str) -> str:
    """A name or code as a person may have typed it: no accents, no case, no spaces or punctuation."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return re.sub(r"[^0-9a-z]", "", "".join(c for c in text if not unicodedata.combining(c)).lower())


def nearest(text: str, candidates, cutoff: float) -> str | None:
    """The one candidate that the text is closest to, by its normalised form; None when none is close or two tie."""
    keyed: dict[str, str] = {}
    for candidate in candidates:
        keyed.setdefault(_key(candidate), candidate)
    key = _key(text)
    if not key:
        return None
    if key in keyed:
        return keyed[key]
    scored = sorted(((difflib.SequenceMatcher(None, key, other).ratio(), other) for other in keyed), reverse=True)
    if not scored or scored[0][0] < cutoff or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return keyed[scored[0][1]]


@lru_cache(maxsize=4096)  # a wave's wrong codes repeat: 'van phuc' on hundreds of rows
def nearest_codes(column: str, value: str) -> str | None:
    """The allowed answer closest to a coded cell that holds none (`QUESTION[column].codes`), when it is close."""
    from schemas.questionnaire import QUESTION

    question = QUESTION.get(column)
    if question is None or not question.codes or value is None or len(value) > 200:
        return None
    if question.kind == "select_multiple":
        tokens = [token for token in re.split(r"[\s,;|/]+", value) if token]
        codes = [code if code in question.codes else nearest(code, question.codes, CLOSE_CODE) for code in tokens]
        if not codes or None in codes:
            return None
        answer = " ".join(dict.fromkeys(codes))
        return answer if answer != value and len(dict.fromkeys(codes)) <= (question.most or len(question.codes)) else None
    if value in question.codes:
        return None
    return nearest(value, question.codes, CLOSE_CODE)


def renamed_columns(items: list[dict]) -> dict[str, str]:
    """Each missing column paired with the unknown column of the most similar name, if one is similar enough."""
    missing = [item["column"] for item in items if item["rule"] == "missing_column" and item["column"]]
    unknown = [item["column"] for item in items if item["rule"] == "unknown_column" and item["column"]]
    scored = []
    for want in missing:
        for have in unknown:
            a, b = _key(want), _key(have)
            ratio = difflib.SequenceMatcher(None, a, b).ratio()
            if ratio >= CLOSE_COLUMN or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a))):
                scored.append((-ratio, want, have))
    pairs: dict[str, str] = {}
    for _, want, have in sorted(scored):
        if want not in pairs and have not in pairs.values():
            pairs[want] = have
    return pairs


def suggestion(item: dict, renamed: dict[str, str]) -> str | None:
    """What the person fixing the data may do about the finding, when it is clear enough to offer."""
    column, rule = item["column"], item["rule"]
    if rule == "missing_column" and column in renamed:
        return (f"The file has an unknown column '{renamed[column]}' of a similar name: if it holds {column}, "
                f"rename its header to '{column}'.")
    if rule == "unknown_column" and column in renamed.values():
        wanted = next(want for want, have in renamed.items() if have == column)
        return f"The required column '{wanted}' is missing: if this column holds it, rename its header to '{wanted}'."
    if item["value"] is not None and column is not None:
        code = nearest_codes(column, item["value"])
        if code is not None:
            return f"Did you mean '{code}'?"
    return None


def validation_html(wave: str, source_name: str, sha256: str, items: list[dict], counts: dict[str, int]) -> str:
    """The survey manager's validation page: a summary, then each check that found something, blocking first."""
    from schemas.questionnaire import QUESTION
    from workflows.report.rendering import render_html

    found, passed = checks_with_findings(items, counts)
    for check in found:
        check["repeated"] = repeated_values(check["findings"])
    labels = {column: QUESTION[column].label for column in {item["column"] for item in items} if column in QUESTION}
    errors = error_count(counts)
    renamed = renamed_columns(items)
    return render_html("validation.html.j2", wave=wave, source_name=source_name, sha256=sha256, checks=found,
                       passed=passed, errors=errors, warnings=sum(counts.values()) - errors, listed=len(items),
                       truncated=sum(check["count"] - check["listed"] for check in found), renamed=renamed,
                       labels=labels, shown_rows=SHOWN_ROWS)


def write_file(path: Path, content: str | bytes) -> None:
    """Write text or bytes to a temporary name, then rename it into place."""
    write_atomically(path, content)


def json_text(document: dict) -> str:
    return json.dumps(clean(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: Path, document: dict) -> None:
    write_atomically(path, json_text(document))


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
