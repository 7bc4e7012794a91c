-- The paper's Table 2: enterprise characteristics and adoption, per cluster and in total.
-- Every cluster of the codebook gets a row, with n = 0 and empty means if nobody was interviewed.
with firms as (
    select
        indices.*,
        responses.export_share_pct
    from firm_indices as indices
    join survey_responses as responses using (wave, firm_id)
    where indices.wave = $wave
),

groups as (
    select
        unnest($clusters) as cluster,
        generate_subscripts($clusters, 1) as position
    union all
    select 'total', len($clusters) + 1
),

per_group as (
    select
        groups.cluster,
        groups.position,
        count(firms.firm_id) as n,
        avg(firms.years) as mean_years,
        avg(firms.empl) as mean_employees,
        avg(firms.turn_kvnd) as mean_turnover_kvnd,
        avg(firms.export_share_pct) as mean_export_share_pct,
        count(firms.firm_id) filter (where firms.export_share_pct > 0) as exporters,
        avg(firms.export_share_pct) filter (where firms.export_share_pct > 0)
            as mean_export_share_exporters_pct,
        coalesce(sum(firms.envtech), 0) as adopters,
        100 * sum(firms.envexp_vnd) / nullif(sum(firms.turn_kvnd * 1000), 0)
            as expenditure_pct_of_turnover
    from groups
    left join firms
        on groups.cluster = 'total' or firms.cluster = groups.cluster
    group by groups.cluster, groups.position
),

final as (
    select
        $wave as wave,
        cluster,
        n,
        mean_years,
        mean_employees,
        mean_turnover_kvnd,
        mean_export_share_pct,
        exporters,
        mean_export_share_exporters_pct,
        cast(adopters as bigint) as adopters,
        expenditure_pct_of_turnover
    from per_group
    order by position
)

select * from final
