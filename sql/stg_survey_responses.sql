-- The validated wave, typed: one row per firm, without the personal columns.
-- Runs only on rows that passed every blocking rule, so every cast succeeds. The typed answers
-- are derived from the questionnaire (`schemas/questionnaire.py`, `Question.staged_answer`).
with source as (
    select * from staging.raw_responses
    where wave = $wave and raw_sha256 = $raw_sha256 and corrections_sha256 = $corrections_sha256
),

typed as (
    select
        wave,
        raw_sha256,
        source_row,
        {{ staged_answers }}
    from source
),

final as (
    select * from typed
)

select * from final
