"""The Dagster UI as a user starts it: its GraphQL API shows the graph, and a dropped file gets a report."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import write_wave
from workflows.synthetic import generate_wave

pytestmark = pytest.mark.integration
COMMAND = str(Path(sys.executable).with_name("cleantech-survey"))

WORKSPACE = """{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories {
    sensors { name sensorState { status } }
    schedules { name scheduleState { status } } } } } } } } }"""
ASSETS = """{ assetNodes { assetKey { path } dependencyKeys { path } partitionDefinition { type }
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""
REPORT = """query($partition: String!) { assetNodes(assetKeys: [{path: ["wave_report"]}]) {
  assetMaterializations(partitions: [$partition]) { runId tags { key value }
    metadataEntries { label ... on TextMetadataEntry { text } ... on PathMetadataEntry { path } } } } }"""
CHECKS = """{ assetNodes(assetKeys: [{path: ["raw_wave"]}]) {
  assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", method="POST",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["data"]
    except urllib.error.HTTPError as error:
        raise AssertionError(error.read().decode()[:2000]) from None


def wait_for(predicate, seconds: float, every: float = 1.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # not up yet
            pass
        time.sleep(every)
    raise TimeoutError(f"gave up after {seconds} s")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_the_ui_shows_the_graph_and_turns_a_dropped_file_into_a_report(isolated_project):
    port = free_port()
    ui = subprocess.Popen([COMMAND, "ui", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          start_new_session=True)
    try:
        wait_for(lambda: graphql(port, ASSETS)["assetNodes"], 120)
        nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(port, ASSETS)["assetNodes"]}
        assert {"raw_wave", "survey_responses", "firm_indices", "wave_report"} <= set(nodes)
        assert all(n["partitionDefinition"]["type"] == "DYNAMIC" for n in nodes.values())
        assert {"path": ["survey_responses"]} in nodes["firm_indices"]["dependencyKeys"]
        checks = {c["name"]: c["blocking"] for c in nodes["raw_wave"]["assetChecksOrError"]["checks"]}
        assert checks["answers_in_range"] is True and checks["no_outliers_within_clusters"] is False
        repository = graphql(port, WORKSPACE)["workspaceOrError"]["locationEntries"][0]["locationOrLoadError"]["repositories"][0]
        assert {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]} == {"raw_wave_files": "RUNNING"}
        assert {s["name"]: s["scheduleState"]["status"] for s in repository["schedules"]} == {"stale_waves": "RUNNING"}

        source = write_wave(isolated_project / "raw" / "w2010.csv",
                            generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=10))
        report = isolated_project / "outputs" / "w2010" / "report.pdf"
        wait_for(report.exists, 240, every=2)
        materialization = wait_for(
            lambda: graphql(port, REPORT, {"partition": "w2010"})["assetNodes"][0]["assetMaterializations"], 30)[0]
        metadata = {e["label"]: e.get("text") or e.get("path") for e in materialization["metadataEntries"]}
        assert metadata["raw_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        assert metadata["report_pdf"] == str(report)
        tags = {t["key"]: t["value"] for t in materialization["tags"]}
        assert len(tags["dagster/code_version"]) == 12
        statuses = graphql(port, CHECKS)["assetNodes"][0]["assetChecksOrError"]["checks"]
        assert {c["name"]: c["executionForLatestMaterialization"]["status"] for c in statuses}["answers_in_range"] == "SUCCEEDED"
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=60)
    wait_for(lambda: not group_alive(ui.pid), 30)
