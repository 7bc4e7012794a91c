-- The "other, specify" answers of Q10 and Q18 as the firms wrote them, most frequent first.
with responses as (
    select * from survey_responses
    where wave = $wave
),

answers as (
    select 'q10' as question, trim(q10_other_text) as answer from responses
    where q10_other_text is not null and trim(q10_other_text) <> ''
    union all
    select 'q18', trim(q18_other_text) from responses
    where q18_other_text is not null and trim(q18_other_text) <> ''
),

counted as (
    select question, answer, count(*) as firms
    from answers
    group by question, answer
),

final as (
    select * from counted
    order by question, firms desc, answer
)

select * from final
