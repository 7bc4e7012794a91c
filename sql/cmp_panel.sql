-- Firms interviewed in both waves (by firm_id) and how their adoption changed; who left, who is new.
with now as (
    select firm_id, envtech from firm_indices where wave = $wave
),

before as (
    select firm_id, envtech from firm_indices where wave = $previous
),

paired as (
    select
        coalesce(now.firm_id, before.firm_id) as firm_id,
        before.envtech as before,
        now.envtech as now
    from now
    full outer join before using (firm_id)
),

categories as (
    select
        case
            when before is null then 'new_entrant'
            when now is null then 'left_the_panel'
            when before = 1 and now = 1 then 'kept_adopting'
            when before = 0 and now = 1 then 'adopted_since'
            when before = 1 and now = 0 then 'no_longer_adopting'
            else 'never_adopted'
        end as category
    from paired
),

final as (
    select $wave as wave, $previous as previous_wave, category, count(*) as firms
    from categories
    group by category
    order by category
)

select * from final
