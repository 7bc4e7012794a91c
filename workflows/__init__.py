"""cleantech-survey: a survey wave from raw CSV to a bilingual report, as Dagster assets."""
