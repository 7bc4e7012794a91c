"""The warehouse's staging tables: staged raw rows, findings, and the register of published waves.

A wave's attempt is staged under its version: (wave, raw_sha256, corrections_sha256), the file's
bytes and those of the corrections file applied to them ('' when there is none). Staging an
attempt clears earlier attempts of the wave except the published version, so the last good
version stays until a new version passes validation and replaces it, even when only the
corrections changed.
"""

import hashlib
import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from schemas.findings import WARNING, Finding, Verdict
from schemas.predicates import literal, quoted
from schemas.questionnaire import CONTRACT_COLUMNS, PERSONAL_COLUMNS

_RAW_COLUMNS = ",\n    ".join(f'"{column}" varchar' for column in CONTRACT_COLUMNS)

DDL = f"""
create schema if not exists staging;
create table if not exists staging.raw_responses (
    wave varchar not null,
    raw_sha256 varchar not null,
    source_row bigint not null,
    {_RAW_COLUMNS}
);
create table if not exists staging.wave_attempts (
    wave varchar primary key,
    raw_sha256 varchar not null,
    source_name varchar not null,
    n_rows bigint not null,
    extra_columns json not null,
    columns json
);
create table if not exists staging.validation_findings (
    wave varchar not null,
    raw_sha256 varchar not null,
    severity varchar not null,
    rule varchar not null,
    "column" varchar,
    "row" bigint,
    firm_id varchar,
    value varchar,
    message varchar not null
);
create table if not exists staging.validation_counts (
    wave varchar not null,
    raw_sha256 varchar not null,
    rule varchar not null,
    failures bigint not null
);
create table if not exists waves (
    wave varchar primary key,
    raw_sha256 varchar not null,
    source_name varchar not null,
    n_firms bigint not null,
    median_interview_date date,
    columns json
);
alter table staging.wave_attempts add column if not exists columns json;
alter table waves add column if not exists columns json;
-- The run that published the wave, and where its report was written (`--out` or the outputs folder).
alter table waves add column if not exists run_id varchar;
alter table waves add column if not exists report_pdf varchar;
-- The form that judged the attempt, and the published version: its file, path, settings version and title.
alter table staging.wave_attempts add column if not exists form json;
alter table waves add column if not exists form json;
-- The corrections file applied to the file's cells before any rule ('' when none): part of every staged version.
alter table staging.raw_responses add column if not exists corrections_sha256 varchar default '';
alter table staging.validation_findings add column if not exists corrections_sha256 varchar default '';
alter table staging.validation_counts add column if not exists corrections_sha256 varchar default '';
alter table staging.wave_attempts add column if not exists corrections_sha256 varchar default '';
alter table waves add column if not exists corrections_sha256 varchar default '';
-- The wave's latest corrections file as received ('' and no lines when the folder has none) and its own faults.
create table if not exists staging.correction_files (
    wave varchar primary key,
    corrections_sha256 varchar not null,
    source_name varchar,
    problems json not null
);
-- The lines of the corrections files a wave's latest attempt or published version uses.
create table if not exists staging.corrections (
    wave varchar not null,
    corrections_sha256 varchar not null,
    line bigint not null,
    firm_id varchar,
    "row" bigint,
    "column" varchar,
    old_value varchar,
    new_value varchar,
    reason varchar,
    who varchar,
    "when" varchar
);
-- The corrections applied to an attempt's staged cells, each with the record it changed.
create table if not exists staging.applied_corrections (
    wave varchar not null,
    raw_sha256 varchar not null,
    corrections_sha256 varchar not null,
    line bigint not null,
    source_row bigint not null,
    firm_id varchar,
    "column" varchar not null,
    old_value varchar,
    new_value varchar,
    reason varchar,
    who varchar,
    "when" varchar
);
"""


@dataclass(frozen=True)
class Version:
    """What a staged attempt is: the raw file's sha256 and the applied corrections file's ('' when none)."""

    raw_sha256: str
    corrections_sha256: str = ""

    @classmethod
    def of(cls, record) -> "Version":
        """The version a row of `waves` or `staging.wave_attempts` names."""
        return cls(record["raw_sha256"], record.get("corrections_sha256") or "")

    @property
    def params(self) -> dict:
        return {"raw_sha256": self.raw_sha256, "corrections_sha256": self.corrections_sha256}

    @property
    def digest(self) -> str:
        """One sha256 for the version: the file's own when nothing was corrected (its data version in Dagster)."""
        if not self.corrections_sha256:
            return self.raw_sha256
        return hashlib.sha256(f"{self.raw_sha256}+{self.corrections_sha256}".encode()).hexdigest()


# The SQL condition that a staged table's row belongs to the version in `$raw_sha256`, `$corrections_sha256`.
OF_VERSION = "raw_sha256 = $raw_sha256 and corrections_sha256 = $corrections_sha256"

FINDING_COLUMNS = ["severity", "rule", "column", "row", "firm_id", "value", "message"]
# The tables that hold an attempt's rows and verdict, keyed by (wave, raw_sha256).
STAGED_TABLES = ("staging.raw_responses", "staging.validation_findings", "staging.validation_counts",
                 "staging.applied_corrections")


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)
    # A question added to the shipped forms since the warehouse was made gets its column; older waves hold NULL.
    ensure_answer_columns(conn, CONTRACT_COLUMNS)


def clear_unpublished_attempts(conn: duckdb.DuckDBPyConnection, wave: str, version: Version) -> None:
    """Remove staged rows and findings of the wave, but for its published version (the version being staged
    again included: its rows are staged anew)."""
    for table in STAGED_TABLES:
        conn.execute(
            f"""
            delete from {table}
            where wave = $wave
              and (({OF_VERSION})
                   or (raw_sha256, corrections_sha256) not in (
                       select (raw_sha256, coalesce(corrections_sha256, '')) from waves where wave = $wave))
            """,
            {"wave": wave, **version.params},
        )


def ensure_answer_columns(conn: duckdb.DuckDBPyConnection, columns) -> None:
    """Staged answers get a column for every question of the form judging an attempt (a form given by name may
    ask questions no shipped form has)."""
    present = {row[0] for row in conn.execute(
        "select column_name from duckdb_columns() where schema_name = 'staging' and table_name = 'raw_responses' "
        "and database_name = current_database()").fetchall()}
    for column in columns:
        if column not in present:
            conn.execute(f"alter table staging.raw_responses add column {quoted(column)} varchar")


def record_attempt(
    conn: duckdb.DuckDBPyConnection, wave: str, version: Version, source_name: str, n_rows: int,
    columns: list[str], extra_columns: list[str], verdict: Verdict, questionnaire=None,
) -> None:
    verdict = verdict + Verdict.of(same_file_findings(conn, wave, version.raw_sha256))
    form = None if questionnaire is None else {"file": questionnaire.name, "path": str(questionnaire.path or ""),
                                                "version": questionnaire.version, "title": questionnaire.title}
    conn.execute(
        """
        insert or replace into staging.wave_attempts (wave, raw_sha256, corrections_sha256, source_name, n_rows,
                                                      extra_columns, columns, form)
        values ($wave, $raw_sha256, $corrections_sha256, $name, $rows, $extra, $columns, $form)
        """,
        {"wave": wave, **version.params, "name": source_name, "rows": n_rows, "extra": json.dumps(extra_columns),
         "columns": json.dumps(columns), "form": None if form is None else json.dumps(form)},
    )
    frame = pd.DataFrame(
        [{"severity": f.severity, **f.as_record()} for f in verdict.findings], columns=FINDING_COLUMNS
    ).astype({"row": "Int64"})
    conn.register("new_findings", frame)
    conn.execute(
        f"""
        insert into staging.validation_findings by name
        select $wave as wave, $raw_sha256 as raw_sha256, $corrections_sha256 as corrections_sha256,
               {", ".join(f'"{c}"' for c in FINDING_COLUMNS)} from new_findings
        """,
        {"wave": wave, **version.params},
    )
    conn.unregister("new_findings")
    counts = pd.DataFrame({"rule": list(verdict.counts), "failures": list(verdict.counts.values())},
                          columns=["rule", "failures"]).astype({"rule": object, "failures": "int64"})
    conn.register("new_counts", counts)
    conn.execute("insert into staging.validation_counts by name select $wave as wave, $raw_sha256 as raw_sha256, "
                 "$corrections_sha256 as corrections_sha256, rule, failures from new_counts",
                 {"wave": wave, **version.params})
    conn.unregister("new_counts")


def same_file_findings(conn: duckdb.DuckDBPyConnection, wave: str, sha256: str) -> list[Finding]:
    """A warning for each other wave whose published or latest attempted file has these very bytes."""
    others = conn.execute(
        """
        select wave, min(source_name), bool_or(published) from (
            select wave, source_name, true as published from waves where raw_sha256 = $sha
            union all
            select wave, source_name, false from staging.wave_attempts where raw_sha256 = $sha
        ) where wave <> $wave group by wave order by wave
        """,
        {"wave": wave, "sha": sha256},
    ).fetchall()
    return [Finding("same_file_as_other_wave", None, None, None, None,
                    f"This file is byte for byte the file of wave {other} ({name}, "
                    f"{'published' if published else 'its latest attempt'}): is it a copy saved under a new name? "
                    f"Published as wave {wave}, the same firms would be counted again.", WARNING)
            for other, name, published in others]


def file_register(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every wave's published file and latest attempted file: wave, raw_sha256, source_name, published."""
    return conn.execute(
        """
        select wave, raw_sha256, source_name, true as published from waves
        union all
        select wave, raw_sha256, source_name, false from staging.wave_attempts
        """
    ).df()


def learn_file_register(conn: duckdb.DuckDBPyConnection, register: pd.DataFrame) -> None:
    """Give a scratch warehouse (`validate`'s) another warehouse's files, without their rows, so that a copy
    of another wave's file is warned about there too."""
    ensure_tables(conn)
    conn.register("known_files", register)
    try:
        conn.execute("insert or replace into waves (wave, raw_sha256, source_name, n_firms) "
                     "select wave, raw_sha256, source_name, 0 from known_files where published")
        conn.execute("insert or replace into staging.wave_attempts (wave, raw_sha256, source_name, n_rows, "
                     "extra_columns) select wave, raw_sha256, source_name, 0, '[]' from known_files where not published")
    finally:
        conn.unregister("known_files")


def attempt_rows(wave: str, version: Version) -> str:
    """The query of an attempt's staged rows (the wave id and digests are checked identifiers)."""
    return (f"select * exclude (wave, raw_sha256, corrections_sha256) from staging.raw_responses "
            f"where wave = {literal(wave)} and raw_sha256 = {literal(version.raw_sha256)} "
            f"and corrections_sha256 = {literal(version.corrections_sha256)}")


def published_version(conn: duckdb.DuckDBPyConnection, wave: str) -> Version:
    """The version the wave's published rows were staged from."""
    raw_sha256, corrections_sha256 = conn.execute(
        "select raw_sha256, corrections_sha256 from waves where wave = $wave", {"wave": wave}).fetchall()[0]
    return Version(raw_sha256, corrections_sha256 or "")


def published_params(conn: duckdb.DuckDBPyConnection, wave: str) -> dict:
    """The staging model's parameters for a published wave: its id and its published version."""
    return {"wave": wave, **published_version(conn, wave).params}


def predecessor(conn: duckdb.DuckDBPyConnection, wave: str) -> str | None:
    """The published wave interviewed last before this one (by median interview date, ties by id)."""
    rows = conn.execute(
        """
        select earlier.wave from waves as earlier, waves as this
        where this.wave = $wave and earlier.median_interview_date < this.median_interview_date
        order by earlier.median_interview_date desc, earlier.wave desc
        limit 1
        """,
        {"wave": wave},
    ).fetchall()
    return rows[0][0] if rows else None


def latest_attempt(conn: duckdb.DuckDBPyConnection, wave: str) -> dict | None:
    frame = conn.execute("select * from staging.wave_attempts where wave = $wave", {"wave": wave}).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def findings_of(conn: duckdb.DuckDBPyConnection, wave: str, version: Version,
                context: tuple[str, ...] = ()) -> pd.DataFrame:
    """The attempt's listed findings, errors first, each in file order; with `context`, those columns of each
    finding's staged record too (e.g. its interviewer and interview date; never a personal column)."""
    if set(context) & set(PERSONAL_COLUMNS):
        raise ValueError(f"personal columns never leave the warehouse: {sorted(set(context) & set(PERSONAL_COLUMNS))}")
    staged = "".join(f", staged.{quoted(c)}" for c in context)
    join = ("left join staging.raw_responses as staged on staged.wave = findings.wave "
            "and staged.raw_sha256 = findings.raw_sha256 and staged.corrections_sha256 = findings.corrections_sha256 "
            'and staged.source_row = findings."row"') if context else ""
    return conn.execute(
        f"""
        select {", ".join(f'findings."{c}"' for c in FINDING_COLUMNS)}{staged}
        from staging.validation_findings as findings {join}
        where findings.wave = $wave and findings.raw_sha256 = $raw_sha256
          and findings.corrections_sha256 = $corrections_sha256
        order by findings.severity, findings."row" nulls first, findings.rule
        """,
        {"wave": wave, **version.params},
    ).df()


def interviews_per_interviewer(conn: duckdb.DuckDBPyConnection, wave: str, version: Version) -> dict[str, dict]:
    """Each interviewer id's figures in the attempt, for the field workbook: its records, 'other' answers and
    optional questions left empty (`quality.interviewer_figures`); empty when the file names no interviewer."""
    from schemas.quality import interviewer_figures

    if "interviewer_id" not in CONTRACT_COLUMNS:  # every question's column is staged (`DDL`)
        return {}
    figures = interviewer_figures(conn, f"({attempt_rows(wave, version)})", list(CONTRACT_COLUMNS), with_findings=False)
    return {figure.pop("interviewer_id"): figure for figure in figures.to_dict("records")}


def counts_of(conn: duckdb.DuckDBPyConnection, wave: str, version: Version) -> dict[str, int]:
    """Every rule's full count of failures in the attempt, listed or not."""
    return dict(conn.execute(
        f"select rule, failures from staging.validation_counts where wave = $wave and {OF_VERSION} order by rule",
        {"wave": wave, **version.params},
    ).fetchall())


def publish_wave(conn: duckdb.DuckDBPyConnection, wave: str, version: Version, source_name: str, run_id: str) -> None:
    """Register the attempt as the wave's published version and drop the version it replaces.

    Called in the run's publishing transaction: the register changes only if the whole run commits.
    """
    conn.execute(
        """
        insert or replace into waves (wave, raw_sha256, corrections_sha256, source_name, n_firms,
                                      median_interview_date, columns, run_id, report_pdf, form)
        select $wave, $raw_sha256, $corrections_sha256, $name, count(*), cast(median(interview_date) as date),
               (select columns from staging.wave_attempts where wave = $wave), $run,
               (select report_pdf from waves where wave = $wave),
               (select form from staging.wave_attempts where wave = $wave)
        from survey_responses where wave = $wave
        """,
        {"wave": wave, **version.params, "name": source_name, "run": run_id},
    )
    for table in STAGED_TABLES:
        conn.execute(f"delete from {table} where wave = $wave and not ({OF_VERSION})", {"wave": wave, **version.params})
