-- The "other, specify" answers of Q10 and Q18 as the firms wrote them, most frequent first,
-- bounded for the report: the 12 answers given most often per question (`listed`), each cut
-- to its first 200 characters (`shortened`), with the question's number of distinct answers
-- (`answers`) and of firms that wrote one (`answering_firms`) for the rest.
-- Firms are counted by their full answer: two answers alike in their first 200 characters stay two.
-- The full text stays in survey_responses (q10_other_text, q18_other_text).
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

ranked as (
    select
        question, answer, firms,
        row_number() over (partition by question order by firms desc, answer) as listed,
        count(*) over (partition by question) as answers,
        cast(sum(firms) over (partition by question) as bigint) as answering_firms
    from counted
),

shown as (
    select
        question,
        case when length_grapheme(answer) > 200 then rtrim(left_grapheme(answer, 200)) || '…' else answer end
            as answer,
        firms,
        length_grapheme(answer) > 200 as shortened,
        listed,
        answers,
        answering_firms
    from ranked
    where listed <= 12
),

final as (
    select * from shown
    order by question, listed
)

select * from final
