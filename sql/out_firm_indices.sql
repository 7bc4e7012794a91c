-- firm_indices.csv as the output contract lays it out: its columns, rows ordered by firm_id.
-- Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP).
with indices as (
    select * from firm_indices
    where wave = $wave
),

final as (
    select
        firm_id,
        case when left(cluster, 1) in ('=', '+', '-', '@', chr(9), chr(13)) then '''' || cluster
             else cluster end as cluster,
        cluster_code, envtech, envexp_vnd, cp, emp, gms, loan, expt_vnd, empl, years, turn_kvnd
    from indices
)

select * from final order by firm_id
