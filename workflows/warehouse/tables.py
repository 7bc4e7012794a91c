"""Every table the warehouse publishes, declared once: its SQL model and its columns.

A declaration names the table, its model in `sql/`, what it holds, which tables it reads
and each column's name, DuckDB type and description. From it follow the asset (one per
table), Dagster's `dagster/column_schema` with the descriptions, the keys of `results.json`
and the rows of the report's tables (a column with a `label` is a row of its table). A
model whose columns differ from its declaration stops the asset with a sentence saying so,
so a column added to a model and forgotten here cannot slip into the warehouse unnamed.
`survey_responses` is declared by the questionnaire itself, one column per question.
"""

from dataclasses import dataclass

from schemas import codebook
from schemas.questionnaire import QUESTIONS


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    # A row of the report's table: its English label, and the decimals it is printed with (None: as counted).
    label: str | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class DerivedTable:
    name: str
    model: str
    description: str
    deps: tuple[str, ...]
    columns: tuple[Column, ...]
    # Codes the model lists every one of, even those nobody named (bound as `$codes`).
    codes: tuple[str, ...] = ()

    @property
    def column_types(self) -> list[tuple[str, str]]:
        return [(column.name, column.type) for column in self.columns]

    def mismatch(self, actual: list[tuple[str, str]]) -> str | None:
        """A sentence saying how the model's columns differ from the declaration, or None when they agree."""
        declared = self.column_types
        if actual == declared:
            return None
        missing = [f"{n} {t}" for n, t in declared if (n, t) not in actual]
        undeclared = [f"{n} {t}" for n, t in actual if (n, t) not in declared]
        order = "" if missing or undeclared else " (the same columns in another order)"
        return (f"sql/{self.model}.sql gives the columns of {self.name} otherwise than workflows/warehouse/tables.py declares "
                f"them{order}: declared but not given: {', '.join(missing) or 'none'}; given but not declared: "
                f"{', '.join(undeclared) or 'none'}. Change the declaration or the model so that they agree.")


_WAVE = Column("wave", "VARCHAR", "The survey wave's id.")
_CLUSTER = Column("cluster", "VARCHAR", "Village cluster code, or 'total' for every firm of the wave.")

_PUBLISHED_TYPE = {"integer": "INTEGER", "decimal": "DOUBLE", "date": "DATE", "datetime": "TIMESTAMP WITH TIME ZONE",
                   "select_multiple": "VARCHAR[]"}


def _answer_type(question) -> str:
    if question.kind == "select_one" and question.codes == codebook.YES_NO:
        return "BOOLEAN"
    return _PUBLISHED_TYPE.get(question.kind, "VARCHAR")


SURVEY_RESPONSES = DerivedTable(
    "survey_responses", "stg_survey_responses",
    "The validated wave, typed and published: one row per firm, without personal columns.",
    ("raw_wave",),
    (_WAVE,
     Column("raw_sha256", "VARCHAR", "sha256 of the raw file the row was read from."),
     Column("source_row", "BIGINT", "The row's record number in that file (the header is record 0)."),
     *(Column(q.name, _answer_type(q), q.label) for q in QUESTIONS if not q.personal)),
)

DERIVED_TABLES = (
    DerivedTable(
        "firm_indices", "idx_firm_indices",
        "The paper's variables for each firm: adoption, expenditure, CP, EMP, GMS, loan, exports.",
        ("survey_responses",),
        (_WAVE,
         Column("firm_id", "VARCHAR", "Stable enterprise id."),
         Column("cluster", "VARCHAR", "Village cluster code."),
         Column("cluster_code", "INTEGER", "CLUSTER: 1 Bát Tràng, 2 Đông Kỵ, 3 Vạn Phúc."),
         Column("envtech", "INTEGER", "ENVTECH: 1 when pollution-control equipment was installed (Q6)."),
         Column("envexp_vnd", "DOUBLE", "ENVEXP: annual capital plus running cost of pollution control, VND (Q7 + Q8)."),
         Column("cp", "INTEGER", "CP, community pressure: 2 complaint about the own plant (Q4), 1 in the village (Q3)."),
         Column("emp", "INTEGER", "EMP, market pressure: 2 buyers weighed the plant's performance (Q12), 1 asked (Q11)."),
         Column("gms", "INTEGER", "GMS, government monitoring and sanctions: visits (Q15) plus twice the warnings (Q16)."),
         Column("loan", "INTEGER", "LOAN: 1 with a subsidised loan for pollution control (Q14)."),
         Column("expt_vnd", "DOUBLE", "EXPT: exports, VND (turnover times export share)."),
         Column("empl", "INTEGER", "EMPL: full-time employees."),
         Column("years", "INTEGER", "YEARS: years in operation."),
         Column("turn_kvnd", "DOUBLE", "TURN: annual turnover, thousand VND.")),
    ),
    DerivedTable(
        "enterprise_characteristics", "tbl_enterprise_characteristics",
        "Enterprise characteristics and adoption per cluster and in total (the paper's Table 2).",
        ("firm_indices", "survey_responses"),
        (_WAVE, _CLUSTER,
         Column("n", "BIGINT", "Firms interviewed."),
         Column("mean_years", "DOUBLE", "Mean years in operation.", "Average years in operation", 1),
         Column("mean_employees", "DOUBLE", "Mean full-time employees.", "Average full-time employees", 1),
         Column("mean_turnover_kvnd", "DOUBLE", "Mean annual turnover, thousand VND.",
                "Average turnover (thousand VND)", 0),
         Column("mean_export_share_pct", "DOUBLE", "Mean share of turnover exported, %.",
                "Average exports (% of turnover)", 2),
         Column("exporters", "BIGINT", "Firms that export.", "Exporters"),
         Column("mean_export_share_exporters_pct", "DOUBLE", "Mean share of turnover exported among exporters, %.",
                "Exporters' average exports (%)", 1),
         Column("adopters", "BIGINT", "Firms that installed pollution-control equipment.",
                "Adopters of clean technologies"),
         Column("expenditure_pct_of_turnover", "DOUBLE", "Pollution-control expenditure over turnover, %.",
                "Pollution-control expenditure (% of turnover)", 2)),
    ),
    DerivedTable(
        "constraint_mentions", "tbl_constraint_mentions",
        "Firms naming each constraint on pollution control, with the weighted score (Table 3).",
        ("survey_responses",),
        (_WAVE,
         Column("constraint_code", "VARCHAR", "The constraint's Q10 code."),
         Column("mentions", "BIGINT", "Firms ranking it first, second or third."),
         Column("percent", "DOUBLE", "Mentions as a share of the wave's firms, %."),
         Column("weighted_score", "BIGINT", "Rank-weighted score: 3 for first, 2 for second, 1 for third.")),
        codebook.Q10_CONSTRAINTS,
    ),
    DerivedTable(
        "knowledge_sources", "tbl_knowledge_sources",
        "Times each source of knowledge on clean technology is named, most named first (Table 4).",
        ("survey_responses",),
        (_WAVE,
         Column("rank", "BIGINT", "1 for the source named most often."),
         Column("source", "VARCHAR", "The source's Q18 code."),
         Column("count", "BIGINT", "Firms naming it.")),
        codebook.Q18_SOURCES,
    ),
    DerivedTable(
        "pollution_seriousness", "tbl_pollution_seriousness",
        "Mean seriousness of pollution and sustainability of resources per cluster (Figure 1).",
        ("survey_responses",),
        (_WAVE, _CLUSTER,
         Column("noise", "DOUBLE", "Mean Q1 rating of noise pollution (1-10)."),
         Column("air", "DOUBLE", "Mean Q1 rating of air pollution (1-10)."),
         Column("water", "DOUBLE", "Mean Q1 rating of water pollution (1-10)."),
         Column("resources", "DOUBLE", "Mean Q2 rating of the sustainability of local resources (1-10).")),
    ),
    DerivedTable(
        "wave_facts", "rpt_wave_facts",
        "The counts and means the paper's text reports, one named fact per row.",
        ("survey_responses", "firm_indices"),
        (_WAVE,
         Column("fact", "VARCHAR", "The fact's name, as the report's sentences look it up."),
         Column("value", "DOUBLE", "Its value for the wave.")),
    ),
)

TABLE = {table.name: table for table in (SURVEY_RESPONSES, *DERIVED_TABLES)}


def value_columns(table: str, *keys: str) -> tuple[Column, ...]:
    """The table's columns but the wave and the given key columns: what `results.json` holds per key."""
    return tuple(column for column in TABLE[table].columns if column.name not in ("wave", *keys))
