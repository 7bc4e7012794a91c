-- The paper's per-firm variables and indices, as the input contract defines them.
with responses as (
    select * from survey_responses
    where wave = $wave
),

indices as (
    select
        wave,
        firm_id,
        cluster,
        case cluster when 'bat_trang' then 1 when 'dong_ky' then 2 when 'van_phuc' then 3 end
            as cluster_code,
        cast(q6_equipment_installed as integer) as envtech,
        (q7_capital_cost_mvnd + q8_om_cost_mvnd) * 1000000 as envexp_vnd,
        -- Community pressure: the higher weight that applies (own plant 2, others 1).
        case when q4_complaint_own then 2 when q3_complaints_village then 1 else 0 end as cp,
        -- Environmental market pressure, read the same way (Q12 own plant 2, Q11 others 1).
        case when q12_buyers_considered_performance then 2
             when q11_buyers_asked_compliance then 1 else 0 end as emp,
        q15_monitoring_visits + 2 * (q16_warnings_donre + q16_warnings_commune) as gms,
        cast(q14_subsidised_loan as integer) as loan,
        turnover_kvnd * 1000 * export_share_pct / 100 as expt_vnd,
        employees as empl,
        years_in_operation as years,
        turnover_kvnd as turn_kvnd
    from responses
),

final as (
    select * from indices
)

select * from final
