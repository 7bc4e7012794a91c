-- The paper's Table 4: times each Q18 source of knowledge is named, most named first,
-- ties in the codebook's order.
with named as (
    select unnest(q18_sources) as source
    from survey_responses
    where wave = $wave
),

codes as (
    select
        unnest($codes) as source,
        generate_subscripts($codes, 1) as position
),

counted as (
    select
        codes.source,
        codes.position,
        count(named.source) as count
    from codes
    left join named using (source)
    group by codes.source, codes.position
),

final as (
    select
        $wave as wave,
        row_number() over (order by count desc, position) as rank,
        source,
        count
    from counted
    order by rank
)

select * from final
