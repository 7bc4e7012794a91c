"""cleantech-survey: the command line of `shared/spec/outputs.md`.

Exit statuses: 0 done; 1 the wave failed validation; 2 wrong call (an unknown wave for `forget`);
3 the warehouse stayed busy with another run; 4 an unexpected fault (its sentence says what;
--debug adds the traceback). `--help` lists them, with examples.

Whatever the command prints that comes from a file, a cell, a path or an exception (messages,
firm ids, file names, failure sentences) goes through `workflows.command.terminal.printable`: an
escape sequence in a cell is shown as `\\x1b[2J`, never obeyed by the terminal.
"""

import argparse
import contextlib
import json
import logging
import os
import sys
import traceback
from pathlib import Path

from schemas.codebook import WAVE_ID
from workflows.command.terminal import printable
from workflows.warehouse.resource import WarehouseDamaged

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_BUSY, EXIT_FAULT = 0, 1, 2, 3, 4
SHOWN_ERRORS = 20
# The files every validated wave gets beside each other, whatever the outcome.
VALIDATION_FILES = "validation.json, validation.html and issues.xlsx"

EXIT_STATUSES = """\
exit statuses:
  0  done: the report was written (run), the wave is valid (validate), the wave was forgotten (forget)
  1  the wave failed validation: validation.html lists every finding, issues.xlsx is the field workbook
  2  wrong call: no such file, a bad option or wave id, an unknown wave (forget); nothing was written
  3  the warehouse stayed busy with another run (CLEANTECH_LOCK_WAIT_SECONDS sets how long to wait)
  4  an unexpected fault (a bug, a full disk, a damaged warehouse), said in one sentence; nothing
     published changed (--debug adds the traceback)
"""
EXAMPLES = """\
examples:
  cleantech-survey validate exports/2011.csv
      judge a new export without touching the warehouse; the findings go to data/outputs/2011/
  cleantech-survey run data/raw/2011.csv --wave 2011 --out /tmp/report-2011
      validate, publish and report wave 2011, writing its files to /tmp/report-2011/
"""


class UsageError(Exception):
    """The call itself is wrong: nothing was read or written."""


class Parser(argparse.ArgumentParser):
    """argparse, whose complaints quote the arguments (file names among them) printably."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {printable(message)}\n")


class PrintableLines:
    """A text stream that passes on lines and tabs but shows every other control character escaped.

    `printable` of each line written, the line breaks kept: text that is printable already
    passes unchanged.
    """

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable_lines(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def printable_lines(text: str) -> str:
    """`printable` of every line of the text, its line breaks kept."""
    return "\n".join(printable(line) for line in str(text).split("\n"))


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as installed

    try:
        return installed("cleantech-survey")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        # Output printed by code outside this module (Dagster's log with --debug, the `waves`
        # listing) is shown printably too; what this module prints is printable already.
        with (contextlib.redirect_stdout(PrintableLines(sys.stdout)),
              contextlib.redirect_stderr(PrintableLines(sys.stderr))):
            return args.handler(args)
    except UsageError as error:
        print(f"cleantech-survey {args.command}: {printable(error)}", file=sys.stderr)
        return EXIT_USAGE
    except WarehouseDamaged as error:
        print(f"cleantech-survey {args.command}: {printable(error)}", file=sys.stderr)
        return EXIT_FAULT
    except KeyboardInterrupt:
        print("Interrupted; nothing published by this run was left half-written.", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: a sentence, never a traceback
        if args.debug:
            print(printable_lines(traceback.format_exc()), end="", file=sys.stderr)
        print(f"cleantech-survey {args.command}: unexpected fault: {printable(error)}", file=sys.stderr)
        return EXIT_FAULT


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="cleantech-survey",
        description="Validate, analyse and report waves of the Red River Delta clean-technology survey.",
        epilog=EXIT_STATUSES + "\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cleantech-survey {version()}")
    commands = parser.add_subparsers(dest="command", metavar="CALL")

    def wave_call(name: str, help_text: str, handler, statuses: str):
        call = commands.add_parser(name, help=help_text, description=help_text, epilog=statuses,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
        call.add_argument("file", metavar="FILE", type=Path,
                          help="the wave's export: CSV, XLSX or SPSS .sav (KoboToolbox, ODK and SurveyCTO exports too)")
        call.add_argument("--wave", metavar="ID", help="wave id (default: the file name's stem)")
        call.add_argument("--out", metavar="DIR", type=Path, help="output folder (default: data/outputs/<wave>/)")
        call.add_argument("--form", metavar="XLSFORM", type=Path,
                          help="the questionnaire to judge the wave by (default: the form the file's version column "
                               "names, else the wave's own, else the newest shipped form that fits)")
        call.add_argument("--all-errors", action="store_true", help="list every finding, not 1,000 per rule")
        call.add_argument("--debug", action="store_true", help="show Dagster's log and any traceback")
        call.set_defaults(handler=handler)

    wave_call("run", "Validate, load, derive, fit and render one wave.", run_command,
              "exit statuses: 0 report written; 1 the wave failed validation (nothing published); 2 wrong call;\n"
              "3 the warehouse stayed busy; 4 an unexpected fault.\n\n"
              "example:\n  cleantech-survey run data/raw/2011.csv\n")
    wave_call("validate", "Validate one wave only; the warehouse is not written.", validate_command,
              "exit statuses: 0 valid (warnings allowed); 1 invalid; 2 wrong call; 4 an unexpected fault.\n"
              f"Either way the output folder gets {VALIDATION_FILES}.\n\n"
              "example:\n  cleantech-survey validate exports/2011.csv --out /tmp/check-2011\n")

    ui = commands.add_parser("ui", help="Start the Dagster UI with its daemon (sensor, schedule).",
                             description="Start the Dagster UI with its daemon (sensor, schedule).")
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    ui.add_argument("--debug", action="store_true", help="show any traceback")
    ui.set_defaults(handler=ui_command)

    waves = commands.add_parser("waves", help="List the known waves, their status and last report.",
                                description="List the known waves, their status and last report.")
    waves.add_argument("--debug", action="store_true", help="show any traceback")
    waves.set_defaults(handler=waves_command)

    forget_help = ("Remove a trial wave from the warehouse and the UI, after moving its outputs into an archive "
                   "folder (nothing is deleted).")
    forget = commands.add_parser("forget", help=forget_help, description=forget_help,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="exit statuses: 0 forgotten; 2 unknown wave, or its file is still in the raw "
                                        "folder; 3 the warehouse stayed busy.\n\n"
                                        "example:\n  cleantech-survey forget 2011-trial\n")
    forget.add_argument("wave", metavar="WAVE", help="the wave id, as `cleantech-survey waves` lists it")
    forget.add_argument("--debug", action="store_true", help="show any traceback")
    forget.set_defaults(handler=forget_command)
    return parser


def _checked_call(args) -> tuple[Path, str]:
    source: Path = args.file
    if not source.exists():
        raise UsageError(f"the file {source} does not exist.")
    if not source.is_file():
        raise UsageError(f"{source} is not a file.")
    try:
        source.open("rb").close()
    except OSError as error:
        raise UsageError(f"the file {source} cannot be opened ({error.strerror}).") from None
    wave = args.wave if args.wave is not None else source.stem
    if not WAVE_ID.fullmatch(wave):
        raise UsageError(
            f"the wave id {wave!r} is not allowed: use 1-32 letters, digits, '_' or '-', "
            "starting with a letter or digit (name the file so, or pass --wave ID)."
        )
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder.")
    if args.form is not None:
        _checked_form(args.form)
    if args.out is not None and (other := _wave_published_in(args.out)) not in (None, wave):
        raise UsageError(f"--out {args.out} holds the outputs of wave {other}; they are not replaced by "
                         f"wave {wave}'s. Name a folder of wave {wave}'s own.")
    return source, wave


def _checked_form(form: Path) -> None:
    """A form given on the command line compiles before any wave is read, or the call is wrong (exit 2)."""
    from schemas import questionnaire as questionnaires
    from schemas.xlsform import FormError

    if not form.is_file():
        raise UsageError(f"the form {form} does not exist or is not a file.")
    try:
        questionnaires.load(form.resolve())
    except FormError as error:
        raise UsageError(str(error)) from None


def _wave_published_in(folder: Path) -> str | None:
    """The wave whose outputs the folder holds, by its own files, or None."""
    for name in ("results.json", "validation.json"):
        try:
            other = json.loads((folder / name).read_text(encoding="utf-8")).get("wave")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(other, str):
            return other
    return None


def run_command(args) -> int:
    from workflows.command.runner import run_wave

    source, wave = _checked_call(args)
    outcome = run_wave(source, wave, args.out, args.all_errors, quiet=not args.debug, form=args.form)
    return _report_outcome(source, outcome, wrote_report=True)


def validate_command(args) -> int:
    from workflows.command.runner import validate_wave

    source, wave = _checked_call(args)
    outcome = validate_wave(source, wave, args.out, args.all_errors, quiet=not args.debug, form=args.form)
    return _report_outcome(source, outcome, wrote_report=False)


def _report_outcome(source: Path, outcome, wrote_report: bool) -> int:
    if outcome.corrections_file:
        applied = outcome.corrections_applied
        print(f"{'No' if not applied else f'{applied:,}'} correction{'s' * (applied != 1)} from "
              f"{printable(outcome.corrections_file)} applied to the wave's cells before validation (the raw file is "
              "unchanged).")
    if outcome.errors:
        _print_findings(source, outcome, published=wrote_report)
        return EXIT_INVALID
    if not outcome.succeeded:
        if outcome.busy:
            print(f"cleantech-survey: {printable(outcome.failure)} Try again when it has finished "
                  "(CLEANTECH_LOCK_WAIT_SECONDS sets how long to wait).", file=sys.stderr)
            return EXIT_BUSY
        print(f"cleantech-survey: wave {printable(outcome.wave)} could not be completed: "
              f"{printable(outcome.failure)}", file=sys.stderr)
        return EXIT_FAULT
    warned = f", {outcome.warnings:,} warning(s)" if outcome.warnings else ""
    print(f"Wave {printable(outcome.wave)} ({printable(source.name)}) is valid{warned}. "
          f"Findings: {printable(outcome.validation_json)}, for reading in validation.html, "
          "for the field team in issues.xlsx (same folder)")
    if wrote_report:
        print(f"Report and data written to {printable(outcome.out_dir)}/ (report.pdf, results.json, "
              f"firm_indices.csv, {VALIDATION_FILES})")
    return EXIT_OK


def _print_findings(source: Path, outcome, published: bool) -> None:
    from schemas.findings import ITEMS_PER_RULE
    from workflows.intake.corrections import RULES as CORRECTIONS_RULES  # loaded by the run already

    document = json.loads(outcome.validation_json.read_text(encoding="utf-8"))
    errors = document["errors"]
    counts = {rule: n for rule, n in document["counts"].items() if any(e["rule"] == rule for e in errors)}
    rules = ", ".join(f"{printable(rule)} {n:,}" for rule, n in counts.items())
    consequence = "; nothing was published" if published else ""
    print(f"{printable(source)}: wave {printable(outcome.wave)} failed validation with {outcome.errors:,} error(s) "
          f"({rules}){consequence}.", file=sys.stderr)
    for item in errors[:SHOWN_ERRORS]:
        where = (f"row {item['row']}" if item["row"] is not None
                 else "corrections file" if item["rule"] in CORRECTIONS_RULES else "file")
        firm = f" (firm {printable(item['firm_id'])})" if item.get("firm_id") else ""
        print(f"  {where}{firm}: {printable(item['message'])} [rule {printable(item['rule'])}]", file=sys.stderr)
    if outcome.errors > SHOWN_ERRORS:
        print(f"  ... and {outcome.errors - SHOWN_ERRORS:,} more.", file=sys.stderr)
    page = printable(outcome.validation_json.with_name("validation.html"))
    workbook = printable(outcome.validation_json.with_name("issues.xlsx"))
    if document["truncated"]:
        print(f"The first {ITEMS_PER_RULE:,} findings of each rule are listed in {page} (to read and sort in a "
              f"browser), {workbook} (the field workbook) and {printable(outcome.validation_json)}, with every rule's "
              "full count; --all-errors lists every one.", file=sys.stderr)
    else:
        print(f"Every finding is listed in {page} (to read and sort in a browser), {workbook} (the field workbook) "
              f"and {printable(outcome.validation_json)}", file=sys.stderr)


def ui_command(args) -> int:
    from workflows.command.ui import serve

    return serve(args.host, args.port)


def waves_command(args) -> int:
    from workflows.command.wave_list import print_waves

    return print_waves()


def forget_command(args) -> int:
    from workflows.command import forgetting
    from workflows.warehouse.locking import WarehouseBusy

    if not WAVE_ID.fullmatch(args.wave):
        raise UsageError(f"{args.wave!r} is not a wave id (1-32 letters, digits, '_' or '-', starting with a letter "
                         "or digit).")
    try:
        forgotten = forgetting.forget_wave(args.wave)
    except (forgetting.UnknownWave, forgetting.StillInRawFolder) as refusal:
        raise UsageError(str(refusal)) from None
    except WarehouseBusy as busy:
        print(f"cleantech-survey forget: {printable(busy)} Nothing was changed; try again when it has finished "
              "(CLEANTECH_LOCK_WAIT_SECONDS sets how long to wait).", file=sys.stderr)
        return EXIT_BUSY
    print(printable(forgotten.sentence()))
    return EXIT_OK


def console() -> None:
    """The installed command: `main`, then an exit that skips tearing down the interpreter.

    By the time `main` returns, every file is written and closed, the warehouse is committed and
    closed, and Dagster's storage has committed each event; what is left is freeing some hundred
    thousand objects of the libraries a run imports, which took 1-2 s of every run's wall time.
    """
    status = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status if isinstance(status, int) else 1)


if __name__ == "__main__":
    console()
