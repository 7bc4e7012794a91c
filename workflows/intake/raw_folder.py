"""The raw folder: which of its entries are wave files, and why each other export there is skipped.

A wave file is `<wave id>.<type>`, a type the survey platforms export and the project
reads (`.csv`, `.xlsx`, `.sav`; `formats.SUFFIXES`, in any case), that is a regular file
once links are followed and can be opened. Anything else so named (a folder, a FIFO that
would block the first read, a device such as `/dev/zero` that never ends, a broken link,
a file that cannot be read, a name that is no wave id, an export of a type not read such
as `.xls` or `.dta`, Excel's `~$` lock file) is skipped with a one-sentence reason, before a
single byte is read. Two files of one wave id (`2011.csv` and `2011.xlsx`) are both
skipped with the reason, never guessed between. The sensor, the schedule, the raw wave
asset and `cleantech-survey waves` all see the folder through `scan_raw_folder`, and hash
a wave file through `files.file_sha256`, which opens regular files only and never blocks
on the open.
"""

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from workflows.intake.files import WAVE_FILE, NotARegularFile, kind_of, open_regular, two_files
from workflows.intake.formats import NOT_READ_SUFFIXES, SUFFIXES

NOT_A_WAVE_ID = ("its name is not a wave id followed by .csv, .xlsx or .sav (a wave id is 1-32 letters, digits, "
                 "'_' or '-', starting with a letter or digit).")
LOCK_FILE = "it is the lock file Excel keeps while the workbook is open; it goes away when Excel closes it."


def suffix_of(name: str) -> str | None:
    """The name's suffix, lower case, when it is an export's: one the project reads or one it names and skips."""
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    return suffix if suffix in SUFFIXES or suffix in NOT_READ_SUFFIXES else None


@dataclass(frozen=True)
class RawFolder:
    """What a scan of the raw folder found."""

    folder: Path
    # The usable wave files, by wave id, in the order of their names.
    waves: dict[str, Path] = field(default_factory=dict)
    # Every other entry named like an export (`.csv`, `.xlsx`, `.sav`, `.xls`, ...): its name and why it is not read.
    skipped: dict[str, str] = field(default_factory=dict)
    # Why the folder itself cannot be listed (None when it can, or when it does not exist yet).
    problem: str | None = None


def scan_raw_folder(folder: Path) -> RawFolder:
    """The folder's wave files by wave id, and its other exports with the reason each is skipped.

    Nothing is read: entries are listed, examined with `stat` (links followed) and the regular
    ones opened without blocking and closed again, so that a file that cannot be read is
    skipped here rather than failing a run later.
    """
    folder = Path(folder)
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries if suffix_of(entry.name))
    except FileNotFoundError:
        return RawFolder(folder)
    except NotADirectoryError:
        return RawFolder(folder, problem=f"{folder} is not a folder.")
    except OSError as error:
        return RawFolder(folder, problem=f"{folder} cannot be listed ({error.strerror}).")
    found: dict[str, list[str]] = {}
    skipped = {}
    for name in names:
        match = WAVE_FILE.fullmatch(name)
        if name.startswith("~$"):
            skipped[name] = LOCK_FILE
            continue
        if not match:
            skipped[name] = NOT_A_WAVE_ID
            continue
        if (kind := NOT_READ_SUFFIXES.get(suffix_of(name))) is not None:
            skipped[name] = f"it is {kind.description}, which is not read. {kind.advice}"
            continue
        reason = _unusable(folder / name)
        if reason == "":
            continue  # removed since the folder was listed: nothing to say
        if reason:
            skipped[name] = reason
        else:
            found.setdefault(match.group(1), []).append(name)
    waves = {}
    for wave, files in found.items():
        if len(files) == 1:
            waves[wave] = folder / files[0]
        else:
            for name in files:
                skipped[name] = two_files(wave, files)
    return RawFolder(folder, dict(sorted(waves.items())), dict(sorted(skipped.items())))



def _unusable(path: Path) -> str | None:
    """Why `path` cannot be read as a wave file; None when it can; "" when it no longer exists."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        try:
            return f"it is a link to {os.readlink(path)}, which does not exist."
        except OSError:
            return ""  # not a link: removed since the folder was listed
    except OSError as error:
        return f"it cannot be examined ({error.strerror})."
    if not stat.S_ISREG(mode):
        what = "a folder, not a file" if stat.S_ISDIR(mode) else f"{kind_of(mode)}, not a regular file"
        if os.path.islink(path):
            return f"it is a link to {os.path.realpath(path)}, which is {what}."
        return f"it is {what}."
    try:
        os.close(open_regular(path))
    except FileNotFoundError:
        return ""
    except NotARegularFile:
        return "it was replaced by something that is not a regular file while it was examined."
    except OSError as error:
        return f"it cannot be read ({error.strerror})."
    return None
