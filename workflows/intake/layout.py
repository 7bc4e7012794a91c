"""How a wave file's header maps to the questionnaire: the columns as the survey platforms export them.

KoboToolbox, ODK and SurveyCTO write the same answers under other headers than the
contract's. Before any rule applies, each column of the file is read as one of:

- a question, by its own name, or under group prefixes (`group/name`, `group-name`,
  nested groups too); `start` and `end` are the contract's `interview_start` and
  `interview_end` unless the file has a column of that name itself;
- one choice of a select_multiple question, split into its own column
  (`name/choice`, or `name_choice` / `name.choice` for a known choice) holding 1 or 0
  (`true`/`false` too); the question's cell is made of the chosen codes, or, when the
  file also has the space-separated column, that column is read and the two must agree;
- a metadata column of the platform (`_id`, `_uuid`, `_submission_time`, `__version__`,
  `KEY`, `SubmissionDate`, `meta/instanceID`, ...): kept as the attempt's provenance,
  never read as an answer and never warned about;
- anything else: an unknown column, a warning, as before.

A column whose name is a question's is always that question. Two columns read as the
same question (or choice) are the duplicate-column error, naming both. The questions are
the questionnaire's (`schemas/questionnaire.py`: `QUESTION`, with each question's kind and
codes), never names written here.

The conversion is SQL over the file's text cells, named `c<i>` by their header position,
so that the staged cells and the findings of split columns come from one query whatever
the file's format, and a million rows stay in DuckDB.
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from schemas.findings import WARNING, Finding, Verdict, bounded
from schemas.predicates import codes_list, literal

GROUP_SEPARATORS = "/-"
# A split choice column's separators: `/` as KoboToolbox and ODK write it (any choice, known or not, so that an
# unknown choice reaches the multi-select rule); `_` and `.` as statistics packages rename it (known choices only).
SPLIT_SEPARATORS = ("/", "_", ".")
ALIASES = {"start": "interview_start", "end": "interview_end"}
# The platforms' own columns (KoboToolbox, ODK Collect/Central/Briefcase, SurveyCTO); any name starting with `_`
# is KoboToolbox's too.
METADATA = frozenset({
    "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email", "audit", "audit_URL",
    "instanceID", "instanceName", "deprecatedID", "rootUuid", "uuid", "SubmissionDate", "KEY", "PARENT_KEY",
    "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState",
    "DeviceID", "Edits", "FormVersion", "CompletionDate", "starttime", "endtime", "duration", "caseid",
    "formdef_version", "review_status", "review_quality", "review_comments", "review_corrections", "simid",
    "devicephonenum", "start", "end",
})
# The columns that name the form's version, the first present is read: KoboToolbox, SurveyCTO, ODK Central.
VERSION_COLUMNS = ("__version__", "formdef_version", "FormVersion", "_version_")
CHOSEN = ("1", "true")
NOT_CHOSEN = ("0", "false")


def cell(index: int) -> str:
    """The SQL name of the file's column at `index` in an upload table."""
    return f"c{index}"


@dataclass
class Layout:
    """The file's header read against the questions: which column holds which answer."""

    header: list[str]
    questions: Mapping  # name -> Question, in the questionnaire's order
    direct: dict[str, int] = field(default_factory=dict)  # question -> its column
    splits: dict[str, dict[str, int]] = field(default_factory=dict)  # select_multiple question -> {code: column}
    metadata: dict[str, int] = field(default_factory=dict)  # platform column -> position
    unknown: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # file's name -> question, where they differ
    findings: list[Finding] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The questions the file answers, after conversion, in the questionnaire's order."""
        return [name for name in self.questions if name in self.direct or name in self.splits]

    @property
    def file_columns(self) -> list[str]:
        """The file's columns as the questionnaire names them, in the file's order, without the platform's metadata."""
        named = {index: name for name, index in self.direct.items()}
        named |= {index: name for name, codes in self.splits.items() for index in codes.values()}
        unknown = set(self.unknown)
        return list(dict.fromkeys(named.get(index, header) for index, header in enumerate(self.header)
                                  if index in named or header in unknown))

    @property
    def version_column(self) -> int | None:
        """The position of the column naming the form's version, if the file has one."""
        for name in VERSION_COLUMNS:
            if name in self.metadata:
                return self.metadata[name]
        return None

    @property
    def needed(self) -> list[int]:
        """The positions of every column the staging reads: answers, split choices, the form's version."""
        wanted = set(self.direct.values()) | {i for codes in self.splits.values() for i in codes.values()}
        if self.version_column is not None:
            wanted.add(self.version_column)
        return sorted(wanted)

    @property
    def provenance(self) -> dict:
        """What the conversion did, for the attempt's record: renamed columns, split choices, metadata."""
        return {
            "renamed_columns": dict(self.renamed),
            "split_columns": {q: [self.header[i] for i in codes.values()] for q, codes in self.splits.items()},
            "metadata_columns": list(self.metadata),
            "form_version_column": None if self.version_column is None else self.header[self.version_column],
        }

    def staged_cells(self) -> list[tuple[str, str]]:
        """Each answered question and the SQL of its text cell over the upload's `c<i>` columns."""
        cells = []
        for name in self.columns:
            if name in self.direct:
                cells.append((name, f"nullif({cell(self.direct[name])}, '')"))
            else:
                cells.append((name, f"nullif({_chosen_codes(self.splits[name], joined=True)}, '')"))
        return cells

    def split_verdict(self, conn: duckdb.DuckDBPyConnection, relation: str, record: str,
                      items_per_rule: int | None) -> Verdict:
        """The findings of split choice columns: a cell that is not 1 or 0, a split that disagrees with its column."""
        branches = []
        firm_id = f"nullif({cell(self.direct['firm_id'])}, '')" if "firm_id" in self.direct else "null"
        for position, (name, codes) in enumerate(self.splits.items()):
            for code, index in codes.items():
                branches.append(
                    f"select {record} as record, {position} as position, 'split_choice_value' as rule, "
                    f"{literal(self.header[index])} as \"column\", {cell(index)} as value, null as chosen, "
                    f"{firm_id} as firm_id from {relation} where not {_well_formed(index)}")
            if name in self.direct:
                combined = cell(self.direct[name])
                given = (f"list_sort(list_filter(list_distinct(coalesce(string_split_regex({combined}, '\\s+'), [])), "
                         f"lambda x: list_contains({codes_list(codes)}, x)))")
                chosen = f"list_sort({_chosen_codes(codes, joined=False)})"
                filled = " or ".join(f"nullif(trim({cell(i)}), '') is not null" for i in codes.values())
                clean = " and ".join(_well_formed(i) for i in codes.values())
                branches.append(
                    f"select {record} as record, {position} as position, 'split_choices_disagree' as rule, "
                    f"{literal(name)} as \"column\", {combined} as value, array_to_string({chosen}, ' ') as chosen, "
                    f"{firm_id} as firm_id from {relation} where ({filled}) and ({clean}) and {given} <> {chosen}")
        if not branches:
            return Verdict()
        conn.execute("create or replace temp table split_failures as\n" + "\nunion all\n".join(branches))
        counts = dict(conn.execute("select rule, count(*) from split_failures group by rule").fetchall())
        limit = ("" if items_per_rule is None else
                 f"qualify row_number() over (partition by rule order by record, position) <= {int(items_per_rule)}")
        listed = conn.execute(f"select * from split_failures {limit} order by record, position, \"column\"").fetchall()
        conn.execute("drop table split_failures")
        return Verdict([self._finding(*row) for row in listed], counts)

    def _finding(self, record, position, rule, column, value, chosen, firm_id) -> Finding:
        if rule == "split_choice_value":
            question = list(self.splits)[position]
            message = (f"{column} is {question}'s column for one choice and must hold 1 (chosen) or 0 (not chosen), "
                       f"but the cell holds '{bounded(value)}'.")
        else:
            said = f"'{bounded(value)}'" if value else "nothing"
            split = f"the choices {chosen!r}" if chosen else "no choice"
            message = (f"{column} holds {said}, but its split columns ({', '.join(self._split_names(column))}) "
                       f"mark {split}; the two must agree.")
        return Finding(rule, column, int(record), bounded(firm_id), bounded(value), message)

    def _split_names(self, question: str) -> list[str]:
        return [self.header[i] for i in self.splits[question].values()]


def _well_formed(index: int) -> str:
    return f"coalesce(lower(trim({cell(index)})), '') in ('', {', '.join(map(literal, CHOSEN + NOT_CHOSEN))})"


def _chosen_codes(codes: dict[str, int], joined: bool) -> str:
    """The codes whose split cell is 1, in the file's order: a list, or joined by spaces."""
    chosen = [f"case when lower(trim({cell(i)})) in ({', '.join(map(literal, CHOSEN))}) then {literal(code)} end"
              for code, i in codes.items()]
    if joined:
        return f"concat_ws(' ', {', '.join(chosen)})"
    return f"list_filter([{', '.join(chosen)}]::varchar[], lambda x: x is not null)"


def read_header(header: list[str], questions: Mapping) -> Layout:
    """The file's columns read against the questions, with the findings of the header itself."""
    layout = Layout(list(header), questions)
    seen: set[str] = set()
    claimed: dict[tuple, str] = {}
    aliases: list[tuple[int, str, str]] = []
    nameless: list[int] = []
    for index, name in enumerate(header):
        if not name.strip():
            nameless.append(index)  # no name, so never named twice: each is an unknown column of its own
            continue
        if name in seen:
            layout.findings.append(Finding(
                "duplicate_column", name, 0, None, None,
                f"The header names the column '{name}' more than once; only the first is read."))
            continue
        seen.add(name)
        what, target, code = _resolve(name, questions)
        if what == "alias":
            aliases.append((index, name, target))
            continue
        if what == "metadata":
            layout.metadata.setdefault(name, index)
            continue
        if what == "unknown":
            layout.unknown.append(name)
            continue
        key = (target, code)
        if key in claimed:
            layout.findings.append(_claimed_twice(target, code, claimed[key], name))
            continue
        claimed[key] = name
        if what == "question":
            layout.direct[target] = index
            if name != target:
                layout.renamed[name] = target
        else:
            layout.splits.setdefault(target, {})[code] = index
    for index, name, target in aliases:
        if (target, None) in claimed:
            layout.metadata.setdefault(name, index)  # the file has the question itself: the platform's time is kept
        else:
            claimed[(target, None)] = name
            layout.direct[target] = index
            layout.renamed[name] = target
    for name in layout.unknown:
        layout.findings.append(Finding(
            "unknown_column", name, 0, None, None,
            f"The column '{name}' is not part of the questionnaire and is ignored.", WARNING))
    for index in nameless:
        layout.findings.append(Finding(
            "unknown_column", header[index], 0, None, None,
            f"Column {index + 1} has no name in the header row; it is not part of the questionnaire and is ignored.",
            WARNING))
    if nameless:
        layout.unknown.append(header[nameless[0]])
    return layout


def _claimed_twice(question: str, code: str | None, first: str, second: str) -> Finding:
    if code is None:
        return Finding("duplicate_column", question, 0, None, None,
                       f"The header names the column '{question}' twice, as '{first}' and as '{second}'; "
                       "only the first is read.")
    return Finding("duplicate_column", second, 0, None, None,
                   f"The header names the choice '{code}' of {question} twice, as '{first}' and as '{second}'; "
                   "only the first is read.")


def _resolve(name: str, questions: Mapping) -> tuple[str, str | None, str | None]:
    """What a column is: ("question", name, None), ("split", question, code), ("alias", question, None),
    ("metadata", None, None) or ("unknown", None, None); the whole name first, then without each group prefix."""
    candidates = [name] + [name[at + 1:] for at, character in enumerate(name) if character in GROUP_SEPARATORS]
    for candidate in candidates:
        if not candidate:
            continue
        if candidate in questions:
            return "question", candidate, None
        split = _split_of(candidate, questions)
        if split:
            return "split", *split
        if candidate in ALIASES and ALIASES[candidate] in questions:
            return "alias", ALIASES[candidate], None
        if candidate.startswith("_") or candidate in METADATA:
            return "metadata", None, None
    return "unknown", None, None


def _split_of(name: str, questions: Mapping) -> tuple[str, str] | None:
    for question in questions.values():
        if question.kind != "select_multiple":
            continue
        for separator in SPLIT_SEPARATORS:
            prefix = question.name + separator
            if name.startswith(prefix) and len(name) > len(prefix):
                code = name[len(prefix):]
                if code in question.codes or (separator == "/" and "/" not in code):
                    return question.name, code
    return None


def choice_code(label: str, question) -> str:
    """The choice a value label names: its code, or a label of it in any of the form's languages, compared
    without case, accents or punctuation; else the label itself, for the question's rules to judge."""
    if label in question.codes:
        return label
    wanted = _plain(label)
    for code in question.codes:
        labels = getattr(question, "choice_labels", {}).get(code, {})
        if wanted in (_plain(code), *(_plain(text) for text in labels.values())):
            return code
    return label


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text).replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", "_", stripped.casefold()).strip("_")
