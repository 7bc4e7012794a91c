"""validation.html in a real browser: Debian's Chromium, headless, driven over the DevTools protocol.

The page lists exactly the findings of validation.json, shows blocking checks first in red,
sorts and filters with its own inline script, and fetches nothing. `.ci/run` installs Chromium
(apt) so that CI always runs this test; elsewhere, without Chromium, it is skipped with the reason.
"""

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from websockets.sync.client import connect

from workflows.report import outputs

pytestmark = pytest.mark.integration  # a browser started, once for every check of the page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RED = "rgb(176, 0, 32)"


class Page:
    """One page in a headless Chromium: evaluate JavaScript in it, and see every request it made."""

    def __init__(self, browser: subprocess.Popen, socket):
        self.browser, self.socket, self.requests, self._ids = browser, socket, [], itertools.count(1)

    def send(self, method: str, **params) -> dict:
        number = next(self._ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            if message.get("id") == number:
                if "error" in message:
                    raise AssertionError(message["error"])
                return message["result"]

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(result["exceptionDetails"])
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + 20
        while self.evaluate("document.readyState") != "complete" or not self.evaluate(f"location.href === {url!r}"):
            assert time.monotonic() < deadline, "the page did not load"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing on CI: .ci/run installs it with apt-get (Debian's package 'chromium').")
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian) to test validation.html in a "
                    "real browser; .ci/run installs it on CI.")
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,1000",
                                "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        port = None
        while port is None:
            assert time.monotonic() < deadline, "Chromium did not start"
            line = process.stderr.readline()
            if found := re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line):
                port = int(found.group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            target = next(t for t in json.load(response) if t["type"] == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as socket:
            page = Page(process, socket)
            page.send("Network.enable")
            page.send("Page.enable")
            yield page
    finally:
        process.kill()
        process.wait()


def broken_wave_files(folder: Path) -> tuple[Path, dict]:
    """A wave of 1,200 loosely typed codes (listed whole, --all-errors), a renamed column and a hostile cell."""
    clusters = ["van phuc", "dongky", "bat trang", "Vạn Phúc"]
    rows = [{"severity": "error", "rule": "missing_column", "column": "employees", "row": None, "firm_id": None,
             "value": None, "message": "The required column 'employees' is missing from the file's header."}]
    rows += [{"severity": "error", "rule": "allowed_codes", "column": "cluster", "row": n, "firm_id": f"F{n:04d}",
              "value": clusters[n % 4], "message": f"cluster must be one of bat_trang, dong_ky, van_phuc, but the "
                                                   f"cell holds '{clusters[n % 4]}'."} for n in range(1, 1201)]
    rows += [{"severity": "error", "rule": "range", "column": "q1_noise", "row": 7, "firm_id": "F0007",
              "value": '<img src="http://127.0.0.1:9/x.png">', "message": "q1_noise must be between 1 and 10."},
             {"severity": "warning", "rule": "unknown_column", "column": "employees_n", "row": 0, "firm_id": None,
              "value": None, "message": "The column 'employees_n' is not part of the questionnaire and is ignored."}]
    frame = pd.DataFrame(rows).assign(interviewer_id=None, interview_date=None)
    files = outputs.validation_files("2011", "2011.csv", "ab" * 32, frame, frame["rule"].value_counts().to_dict(),
                                     all_items=True)
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder / "validation.html", json.loads(files["validation.json"])


ROWS = """Array.from(document.querySelectorAll('tr.finding')).map(r => [r.cells[0].textContent.trim(),
  r.cells[1].textContent.trim(), r.cells[2].textContent.trim(), r.cells[3].textContent,
  r.cells[4].querySelector('.message').textContent])"""
VISIBLE = "document.querySelectorAll('tr.finding:not(.hidden)').length"


def test_the_page_in_a_browser_lists_the_json_findings_red_first_sorts_filters_and_fetches_nothing(browser, tmp_path):
    page_file, document = broken_wave_files(tmp_path)
    url = page_file.as_uri()
    browser.open(url)
    listed = document["errors"] + document["warnings"]

    # Exactly the findings of validation.json, as the reader sees them.
    expected = sorted([("" if i["row"] is None else str(i["row"])), i["firm_id"] or "", i["column"] or "",
                       i["value"] or "", i["message"]] for i in listed)
    assert sorted(browser.evaluate(ROWS)) == expected and len(expected) == 1_203

    # A summary, blocking checks first, in red; then the warnings.
    sections = browser.evaluate("""Array.from(document.querySelectorAll('section.check')).map(s =>
        [s.dataset.severity, getComputedStyle(s.querySelector('h2')).color])""")
    assert [severity for severity, _ in sections] == ["error", "error", "error", "warning"]
    assert {color for severity, color in sections if severity == "error"} == {RED}
    assert browser.evaluate("getComputedStyle(document.querySelector('table.summary tr.error a')).color") == RED
    assert browser.evaluate("document.querySelector('.renamed').textContent").count("employees_n") == 1

    # Repeated values grouped, with the nearest code; a click shows that pair's findings only.
    pairs = browser.evaluate("""Array.from(document.querySelectorAll('table.repeated tbody tr')).map(r =>
        [r.cells[1].textContent.trim(), r.cells[2].textContent.trim(), r.cells[3].textContent.trim()])""")
    assert ["van phuc", "300", "Did you mean 'van_phuc'?"] in pairs
    assert ["Vạn Phúc", "300", "Did you mean 'van_phuc'?"] in pairs
    browser.evaluate("document.querySelector('button.pair[data-filter=\"dongky\"]').click()")
    assert browser.evaluate(VISIBLE) == 300
    assert browser.evaluate("document.getElementById('shown').textContent") == "showing 300 of 1,203 finding(s)"

    # Filtering by words and by severity; sections without a match are hidden.
    browser.evaluate("""(() => { const f = document.getElementById('filter'); f.value = 'F0007 q1_noise';
        f.dispatchEvent(new Event('input')); })()""")
    assert browser.evaluate(VISIBLE) == 1
    assert browser.evaluate("document.querySelectorAll('section.check:not(.hidden)').length") == 1
    browser.evaluate("""(() => { const f = document.getElementById('filter'); f.value = '';
        f.dispatchEvent(new Event('input')); const s = document.getElementById('severity'); s.value = 'warning';
        s.dispatchEvent(new Event('change')); })()""")
    assert browser.evaluate(VISIBLE) == 1
    browser.evaluate("""(() => { const s = document.getElementById('severity'); s.value = '';
        s.dispatchEvent(new Event('change')); })()""")
    assert browser.evaluate(VISIBLE) == 1_203

    # Sorting by a click on a heading: rows as numbers, then the other way round.
    order = """Array.from(document.querySelectorAll('#check-answers_well_formed tr.finding'))
        .slice(0, 3).map(r => r.cells[0].textContent.trim())"""
    header = "document.querySelector('#check-answers_well_formed table.findings th')"
    browser.evaluate(f"{header}.click()")
    assert browser.evaluate(order) == ["1", "2", "3"]
    browser.evaluate(f"{header}.click()")
    assert browser.evaluate(order) == ["1200", "1199", "1198"]
    assert browser.evaluate(f"{header}.getAttribute('aria-sort')") == "descending"

    # The hostile cell is text, and the page asked for nothing but itself.
    assert browser.evaluate("document.images.length") == 0
    assert browser.requests == [url]

    # For a person to look at: a screenshot beside the page.
    browser.evaluate("window.scrollTo(0, 0)")
    shot = browser.send("Page.captureScreenshot", format="png")
    (tmp_path / "validation.png").write_bytes(base64.b64decode(shot["data"]))
    assert (tmp_path / "validation.png").stat().st_size > 10_000
