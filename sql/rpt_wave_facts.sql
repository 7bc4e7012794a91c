-- Counts and means the paper's text reports (sections 3-5), one named fact per row.
with responses as (
    select * from survey_responses
    where wave = $wave
),

firms as (
    select * from firm_indices
    where wave = $wave
),

locations as (
    select unnest(q21_partner_locations) as location from responses
),

facts as (
    select 'q3_yes' as fact, count(*) filter (where q3_complaints_village) as value from responses
    union all select 'q4_yes', count(*) filter (where q4_complaint_own) from responses
    union all select 'q4_yes_without_q3', count(*) filter (where q4_complaint_own and not q3_complaints_village) from responses
    union all select 'q5_yes', count(*) filter (where q5_control_agreement) from responses
    union all select 'q11_yes', count(*) filter (where q11_buyers_asked_compliance) from responses
    union all select 'q12_yes', count(*) filter (where q12_buyers_considered_performance) from responses
    union all select 'q13_yes', count(*) filter (where q13_buyers_offered_help) from responses
    union all select 'q14_yes', count(*) filter (where q14_subsidised_loan) from responses
    union all select 'q15_once_or_more', count(*) filter (where q15_monitoring_visits >= 1) from responses
    union all select 'q15_twice', count(*) filter (where q15_monitoring_visits = 2) from responses
    union all select 'q15_more_than_twice', count(*) filter (where q15_monitoring_visits > 2) from responses
    union all select 'q16_donre_firms', count(*) filter (where q16_warnings_donre > 0) from responses
    union all select 'q16_donre_letters', coalesce(sum(q16_warnings_donre), 0) from responses
    union all select 'q16_commune_firms', count(*) filter (where q16_warnings_commune > 0) from responses
    union all select 'q16_commune_letters', coalesce(sum(q16_warnings_commune), 0) from responses
    union all select 'q16_both_firms', count(*) filter (where q16_warnings_donre > 0 and q16_warnings_commune > 0) from responses
    union all select 'q17_yes', count(*) filter (where q17_aware_clean_tech) from responses
    union all select 'q17_yes_pct', 100.0 * count(*) filter (where q17_aware_clean_tech) / nullif(count(*), 0) from responses
    union all select 'q19_mean', avg(q19_partner_importance) from responses
    union all select 'q20_my_company', count(*) filter (where q20_initiator = 'my_company') from responses
    union all select 'q20_partner', count(*) filter (where q20_initiator = 'partner') from responses
    union all select 'q20_both', count(*) filter (where q20_initiator = 'both') from responses
    union all select 'q21_village', count(*) filter (where location = 'village') from locations
    union all select 'q21_province', count(*) filter (where location = 'province') from locations
    union all select 'q21_vietnam', count(*) filter (where location = 'vietnam') from locations
    union all select 'q21_abroad', count(*) filter (where location = 'abroad') from locations
    union all select 'q9_own_initiative', count(*) filter (where q9_introduced_by = 'own_initiative') from responses
    union all select 'q9_university', count(*) filter (where q9_introduced_by = 'university') from responses
    union all select 'q9_cluster_firm', count(*) filter (where q9_introduced_by = 'cluster_firm') from responses
    union all select 'q9_government', count(*) filter (where q9_introduced_by = 'government') from responses
    union all select 'spenders', count(*) filter (where envexp_vnd > 0) from firms
    union all select 'mean_envexp_vnd', avg(envexp_vnd) from firms
    union all select 'ownership_private', count(*) filter (where ownership = 'private') from responses
    union all select 'ownership_household', count(*) filter (where ownership = 'household') from responses
    union all select 'ownership_cooperative', count(*) filter (where ownership = 'cooperative') from responses
    union all select 'ownership_state', count(*) filter (where ownership = 'state') from responses
    union all select 'exporters_min_pct', min(export_share_pct) filter (where export_share_pct > 0) from responses
    union all select 'exporters_max_pct', max(export_share_pct) filter (where export_share_pct > 0) from responses
),

final as (
    select $wave as wave, fact, cast(value as double) as value from facts
)

select * from final
