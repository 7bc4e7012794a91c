-- The paper's Table 3: firms naming each Q10 constraint, and the weighted score (the PCC index).
with responses as (
    select * from survey_responses
    where wave = $wave
),

firm_count as (
    select count(*) as n from responses
),

codes as (
    select
        unnest($codes) as code,
        generate_subscripts($codes, 1) as position
),

tallies as (
    select
        codes.code,
        codes.position,
        count(*) filter (where responses.q10_constraint_1 = codes.code) as first,
        count(*) filter (where responses.q10_constraint_2 = codes.code) as second,
        count(*) filter (where responses.q10_constraint_3 = codes.code) as third,
        count(*) filter (
            where codes.code in (
                responses.q10_constraint_1, responses.q10_constraint_2, responses.q10_constraint_3
            )
        ) as mentions
    from codes
    left join responses on true
    group by codes.code, codes.position
),

final as (
    select
        $wave as wave,
        tallies.code as constraint_code,
        tallies.mentions,
        100.0 * tallies.mentions / nullif(firm_count.n, 0) as percent,
        3 * tallies.first + 2 * tallies.second + tallies.third as weighted_score
    from tallies
    cross join firm_count
    order by tallies.position
)

select * from final
