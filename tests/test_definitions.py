"""The Dagster definitions load, and every asset and check is declared in full."""

import dagster as dg

from schemas.rules import RULE_GROUPS
from workflows.definitions import defs

EXPECTED_ASSETS = {
    "wave_corrections", "raw_wave", "survey_responses", "firm_indices", "enterprise_characteristics", "constraint_mentions",
    "knowledge_sources", "pollution_seriousness", "regression_models", "wave_results", "wave_report",
    "wave_facts", "published_comparison", "wave_comparison",
}


def test_definitions_load_with_every_asset():
    definitions = defs()
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert keys == EXPECTED_ASSETS
    assert set(definitions.resources) == {"warehouse", "wave_files"}


def test_every_asset_is_partitioned_by_wave_and_described():
    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.partitions_def == dg.DynamicPartitionsDefinition(name="wave"), key
        assert node.description and node.description.endswith("."), key
        assert node.kinds, key


def test_every_error_rule_group_is_a_blocking_check_on_the_raw_wave():
    graph = defs().resolve_asset_graph()
    check_keys = {key.name: key for key in graph.asset_check_keys if key.asset_key == dg.AssetKey("raw_wave")}
    assert set(check_keys) == {group.name for group in RULE_GROUPS}
    for group in RULE_GROUPS:
        spec = graph.get_check_spec(check_keys[group.name])
        assert spec.asset_key == dg.AssetKey("raw_wave")
        assert spec.blocking == (group.severity == "error")
