"""The sensor on the raw folder and the schedule for stale waves."""

import json
import os
import shutil

import duckdb

import dagster as dg
import pytest

from tests.conftest import materialize_wave, write_wave
from workflows.definitions import defs
from workflows.defs.automation import raw_wave_files, stale_waves
from workflows.defs.resources import WaveFiles
from workflows.synthetic import generate_wave


@pytest.fixture
def setting(isolated_project):
    wave_files = WaveFiles(raw_dir=str(isolated_project / "raw"), outputs_dir=str(isolated_project / "outputs"))
    (isolated_project / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(isolated_project / "instance")) as instance:
        yield isolated_project / "raw", wave_files, instance


def tick(instance, wave_files, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"wave_files": wave_files}) as context:
        return raw_wave_files(context)


def test_the_sensor_runs_a_new_file_once_and_a_changed_file_again(setting):
    raw, wave_files, instance = setting
    path = write_wave(raw / "2011.csv", generate_wave({"van_phuc": 4}, seed=1))
    (raw / "not a wave.csv").write_text("x")
    (raw / "notes.txt").write_text("x")

    first = tick(instance, wave_files)
    assert [r.partition_key for r in first.run_requests] == ["2011"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["2011"]
    instance.add_dynamic_partitions("wave", ["2011"])

    unchanged = tick(instance, wave_files, first.cursor)
    assert unchanged.run_requests == [] and unchanged.dynamic_partitions_requests == []

    os.utime(path, ns=(0, 10**18))  # touched, same bytes
    touched = tick(instance, wave_files, unchanged.cursor)
    assert touched.run_requests == []

    write_wave(path, generate_wave({"van_phuc": 5}, seed=2))
    changed = tick(instance, wave_files, touched.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2011"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key
    assert changed.dynamic_partitions_requests == []


def test_the_schedule_reruns_only_stale_waves(setting):
    raw, wave_files, instance = setting
    source = write_wave(raw / "w.csv", generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=3))
    instance.add_dynamic_partitions("wave", ["w"])
    definitions = defs()

    def materialize():
        return materialize_wave(instance, raw.parent, "w")

    def requests():
        with dg.build_schedule_context(instance=instance, resources={"wave_files": wave_files},
                                       repository_def=definitions.get_repository_def()) as context:
            return [r.partition_key for r in stale_waves(context)]

    assert requests() == ["w"]  # never reported
    assert materialize().success
    assert requests() == []

    broken = generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=3)
    broken[0]["q1_noise"] = "0"
    write_wave(source, broken)
    assert requests() == ["w"]  # the raw file changed
    assert not materialize().success
    assert requests() == []  # this file failed validation: only a new file can help

    shutil.copy(source, raw / "copy.csv")
    write_wave(source, generate_wave({"bat_trang": 6, "dong_ky": 5, "van_phuc": 5}, seed=4))
    assert requests() == ["w"]


def test_a_wave_compares_with_the_wave_interviewed_before_it_whatever_the_order_of_loading(setting):
    raw, wave_files, instance = setting
    early = generate_wave({"bat_trang": 4, "dong_ky": 4, "van_phuc": 4}, seed=5)
    late = [dict(row, interview_date=row["interview_date"].replace("2007", "2009")) for row in early[2:]]
    late[0]["q6_equipment_installed"], late[0]["q9_introduced_by"] = "yes", "government"
    late[0]["q7_capital_cost_mvnd"] = "3.5"
    newcomer = dict(early[0], firm_id="BT-9999", interview_date="2009-09-10")
    write_wave(raw / "late.csv", late + [newcomer], extra={"q23_energy_source": "gas"})
    write_wave(raw / "early.csv", early)
    instance.add_dynamic_partitions("wave", ["late", "early"])
    definitions = defs()

    def materialize(wave):
        return materialize_wave(instance, raw.parent, wave)

    def scheduled():
        with dg.build_schedule_context(instance=instance, resources={"wave_files": wave_files},
                                       repository_def=definitions.get_repository_def()) as context:
            return sorted(r.partition_key for r in stale_waves(context))

    assert materialize("late").success  # loaded first: no earlier wave yet
    assert materialize("early").success
    assert scheduled() == ["late"]  # its predecessor is now "early"
    assert materialize("late").success
    assert scheduled() == []

    with duckdb.connect(os.environ["CLEANTECH_WAREHOUSE"], read_only=True) as conn:
        document = json.loads(conn.execute("select document from wave_comparisons where wave = 'late'").fetchall()[0][0])
        earlier = json.loads(conn.execute("select document from wave_comparisons where wave = 'early'").fetchall()[0][0])
    assert earlier["previous_wave"] is None
    assert document["previous_wave"] == "early"
    adopted_before = sum(r["q6_equipment_installed"] == "yes" for r in early[2:])
    changed = 1 if early[2]["q6_equipment_installed"] == "no" else 0
    assert document["panel"].get("left_the_panel") == 2 and document["panel"].get("new_entrant") == 1
    assert document["panel"].get("adopted_since", 0) == changed
    assert document["panel"].get("kept_adopting", 0) == adopted_before
    total = next(r for r in document["by_cluster"] if r["cluster"] == "total")
    assert (total["n"], total["n_previous"]) == (11, 12)
    assert total["adoption_share"] == pytest.approx((adopted_before + changed + (newcomer["q6_equipment_installed"] == "yes")) / 11)
    assert document["questionnaire"] == [{"column": "q23_energy_source", "change": "added", "kind": "outside the questionnaire"}]
