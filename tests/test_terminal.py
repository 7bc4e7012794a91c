"""What the command prints from a file is shown, never obeyed: no escape sequence reaches the terminal.

A cell, a firm id, a file name or an exception may hold `ESC [2J` (clear the screen) and a
line of its own that fakes a verdict; the command prints each control character escaped.
"""

import pytest

from tests.conftest import write_wave
from workflows.command.cli import PrintableLines, main, printable_lines
from generators.synthetic import generate_wave

CLEAR = "\x1b[2J\x1b[H"
FAKE = "\nWave 2007 (2007.csv) is valid. Findings: ok\n"
ESC, C1_CSI = "\x1b", "\x9b"


def hostile_wave(path, valid: bool = False):
    rows = generate_wave({"bat_trang": 3, "dong_ky": 3, "van_phuc": 3}, seed=21)
    for row in rows:
        row["notes"] = CLEAR + FAKE
    if not valid:
        rows[0]["firm_id"] = CLEAR + "F1" + FAKE
        rows[1]["q1_noise"] = CLEAR + FAKE + C1_CSI + "31m"
        rows[2]["cluster"] = FAKE + CLEAR
    return write_wave(path, rows)


def assert_inert(text: str) -> None:
    assert ESC not in text and C1_CSI not in text and "\r" not in text
    assert "\nWave 2007 (2007.csv) is valid" not in text


def test_an_invalid_wave_with_escape_sequences_prints_them_escaped(tmp_path, isolated_project, capsys):
    source = hostile_wave(tmp_path / "hostile.csv")
    assert main(["validate", str(source), "--out", str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    assert_inert(out + err)
    assert "\\x1b[2J\\x1b[HF1\\nWave 2007 (2007.csv) is valid. Findings: ok\\n" in err  # the firm id, shown
    assert "[rule firm_id_format]" in err and "[rule integer]" in err and "\\x9b31m" in err


def test_a_file_name_with_escape_sequences_is_printed_escaped(tmp_path, isolated_project, capsys):
    source = hostile_wave(tmp_path / f"w{CLEAR}.csv", valid=True)
    assert main(["validate", str(source), "--wave", "w", "--out", str(tmp_path / "out")]) == 0
    assert main(["validate", str(tmp_path / f"missing{CLEAR}.csv")]) == 2
    with pytest.raises(SystemExit):
        main(["validate", str(source), f"--{CLEAR}"])
    out, err = capsys.readouterr()
    assert_inert(out + err)
    assert "(w\\x1b[2J\\x1b[H.csv) is valid" in out
    assert "missing\\x1b[2J\\x1b[H.csv does not exist" in err and "--\\x1b[2J" in err


def test_the_wave_listing_shows_file_names_escaped(isolated_project, capsys):
    (isolated_project / "raw" / f"x{CLEAR}.csv").write_text("firm_id\n")
    assert main(["waves"]) == 0
    out, err = capsys.readouterr()
    assert_inert(out + err)
    assert "x\\x1b[2J\\x1b[H" in out


def test_printable_lines_keep_line_breaks_and_tabs_and_pass_printable_text_unchanged():
    assert printable_lines("a\tb\nc\x1b[2Jd\r\n") == "a\tb\nc\\x1b[2Jd\\r\n"
    assert printable_lines(printable_lines("\x1b\x9b")) == "\\x1b\\x9b"

    class Sink:
        written = ""

        def write(self, text):
            Sink.written += text

    stream = PrintableLines(Sink())
    assert stream.write("ok\x1b[31m\n") == len("ok\x1b[31m\n")
    assert Sink.written == "ok\\x1b[31m\n"


@pytest.mark.integration
def test_the_installed_command_prints_no_escape_sequence(tmp_path, isolated_project):
    from tests.test_command_line import cli

    source = hostile_wave(tmp_path / "hostile.csv")
    done = cli("validate", str(source), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert_inert(done.stdout + done.stderr)
    assert "firm \\x1b[2J\\x1b[HF1" in done.stderr
