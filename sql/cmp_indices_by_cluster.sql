-- Adoption and every index by cluster, for a wave and the wave before it, side by side.
with firms as (
    select * from firm_indices
    where wave in ($wave, $previous)
),

groups as (
    select
        unnest($clusters) as cluster,
        generate_subscripts($clusters, 1) as position
    union all
    select 'total', len($clusters) + 1
),

per_wave as (
    select
        groups.cluster,
        groups.position,
        firms.wave,
        count(firms.firm_id) as n,
        avg(firms.envtech) as adoption_share,
        avg(firms.envexp_vnd) as mean_envexp_vnd,
        avg(firms.cp) as mean_cp,
        avg(firms.emp) as mean_emp,
        avg(firms.gms) as mean_gms,
        avg(firms.loan) as loan_share
    from groups
    join firms
        on groups.cluster = 'total' or firms.cluster = groups.cluster
    group by groups.cluster, groups.position, firms.wave
),

final as (
    select
        $wave as wave,
        $previous as previous_wave,
        groups.cluster,
        coalesce(now.n, 0) as n,
        coalesce(before.n, 0) as n_previous,
        now.adoption_share,
        before.adoption_share as adoption_share_previous,
        now.mean_envexp_vnd,
        before.mean_envexp_vnd as mean_envexp_vnd_previous,
        now.mean_cp,
        before.mean_cp as mean_cp_previous,
        now.mean_emp,
        before.mean_emp as mean_emp_previous,
        now.mean_gms,
        before.mean_gms as mean_gms_previous,
        now.loan_share,
        before.loan_share as loan_share_previous
    from groups
    left join per_wave as now on now.cluster = groups.cluster and now.wave = $wave
    left join per_wave as before on before.cluster = groups.cluster and before.wave = $previous
    order by groups.position
)

select * from final
