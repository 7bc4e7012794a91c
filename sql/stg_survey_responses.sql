-- The validated wave, typed: one row per firm, without the personal columns.
-- Runs only on rows that passed every blocking rule, so every cast succeeds.
with source as (
    select * from staging.raw_responses
    where wave = $wave and raw_sha256 = $raw_sha256
),

typed as (
    select
        wave,
        raw_sha256,
        source_row,
        firm_id,
        cast(interview_date as date) as interview_date,
        cluster,
        ownership,
        cast(years_in_operation as integer) as years_in_operation,
        cast(employees as integer) as employees,
        cast(turnover_kvnd as double) as turnover_kvnd,
        cast(export_share_pct as double) as export_share_pct,
        cast(q1_noise as integer) as q1_noise,
        cast(q1_air as integer) as q1_air,
        cast(q1_water as integer) as q1_water,
        cast(q2_resources as integer) as q2_resources,
        q3_complaints_village = 'yes' as q3_complaints_village,
        q4_complaint_own = 'yes' as q4_complaint_own,
        q5_control_agreement = 'yes' as q5_control_agreement,
        q6_equipment_installed = 'yes' as q6_equipment_installed,
        cast(q7_capital_cost_mvnd as double) as q7_capital_cost_mvnd,
        cast(q8_om_cost_mvnd as double) as q8_om_cost_mvnd,
        q9_introduced_by,
        q10_constraint_1,
        q10_constraint_2,
        q10_constraint_3,
        q10_other_text,
        q11_buyers_asked_compliance = 'yes' as q11_buyers_asked_compliance,
        q12_buyers_considered_performance = 'yes' as q12_buyers_considered_performance,
        q13_buyers_offered_help = 'yes' as q13_buyers_offered_help,
        q14_subsidised_loan = 'yes' as q14_subsidised_loan,
        cast(q15_monitoring_visits as integer) as q15_monitoring_visits,
        cast(q16_warnings_donre as integer) as q16_warnings_donre,
        cast(q16_warnings_commune as integer) as q16_warnings_commune,
        q17_aware_clean_tech = 'yes' as q17_aware_clean_tech,
        list_filter(coalesce(string_split(trim(regexp_replace(q18_sources, '\s+', ' ', 'g')), ' '), []),
                    lambda code: code <> '') as q18_sources,
        q18_other_text,
        cast(q19_partner_importance as integer) as q19_partner_importance,
        q20_initiator,
        list_filter(coalesce(string_split(trim(regexp_replace(q21_partner_locations, '\s+', ' ', 'g')), ' '), []),
                    lambda code: code <> '') as q21_partner_locations,
        q22_help_equipment,
        q22_help_compliance,
        q22_help_banks,
        q22_help_senior_gov,
        notes
    from source
),

final as (
    select * from typed
)

select * from final
