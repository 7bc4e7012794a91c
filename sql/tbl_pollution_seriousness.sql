-- The paper's Figure 1: mean seriousness of noise, air and water pollution and the
-- sustainability of resources (1-10), per cluster and overall.
with responses as (
    select * from survey_responses
    where wave = $wave
),

groups as (
    select
        unnest($clusters) as cluster,
        generate_subscripts($clusters, 1) as position
    union all
    select 'total', len($clusters) + 1
),

means as (
    select
        groups.cluster,
        groups.position,
        avg(responses.q1_noise) as noise,
        avg(responses.q1_air) as air,
        avg(responses.q1_water) as water,
        avg(responses.q2_resources) as resources
    from groups
    left join responses
        on groups.cluster = 'total' or responses.cluster = groups.cluster
    group by groups.cluster, groups.position
),

final as (
    select
        $wave as wave,
        cluster,
        noise,
        air,
        water,
        resources
    from means
    order by position
)

select * from final
