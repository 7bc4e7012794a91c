"""What kind of export a wave file is: decided by its bytes, never by its name or a flag.

The survey platforms (KoboToolbox, ODK, SurveyCTO) export a wave as CSV, as an XLSX
workbook or as an SPSS `.sav`; the raw folder picks these up by their suffix
(`SUFFIXES`), but the reader goes by the file's first bytes, so a workbook saved under
`2011.csv` is read as the workbook it is. Exports the project recognises but does not read
(Excel 97-2003, OpenDocument, Stata, a ZIP archive of something else) are named with the
way to export them again, instead of failing as "not UTF-8 text".
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

CSV, XLSX, SAV = "csv", "xlsx", "sav"


@dataclass(frozen=True)
class Kind:
    """A file's format: one the project reads (`csv`, `xlsx`, `sav`), or one it names and refuses."""

    name: str
    description: str
    readable: bool = True
    # For a format that is not read: what to do instead, one sentence.
    advice: str = ""


CSV_KIND = Kind(CSV, "CSV text")
XLSX_KIND = Kind(XLSX, "an XLSX workbook")
SAV_KIND = Kind(SAV, "an SPSS data file (.sav)")
_AGAIN = "export the wave again as XLSX, SPSS .sav or CSV UTF-8 (comma-separated)"
OLD_OFFICE = Kind("xls", "an Excel 97-2003 workbook (.xls), a password-protected workbook or another old Office file",
                  False, f"Open it in Excel or LibreOffice (removing any password) and save it as .xlsx, or {_AGAIN}.")
OPENDOCUMENT = Kind("ods", "an OpenDocument spreadsheet (.ods)", False,
                    f"Save it as .xlsx from LibreOffice (File > Save As > Excel 2007-365), or {_AGAIN}.")
XLSB = Kind("xlsb", "an Excel binary workbook (.xlsb)", False, f"Save it as .xlsx from Excel, or {_AGAIN}.")
STATA = Kind("dta", "a Stata data file (.dta)", False,
             "Stata names hold at most 32 characters, too few for this questionnaire's columns "
             f"(q12_buyers_considered_performance has 33); {_AGAIN}.")
OTHER_ZIP = Kind("zip", "a ZIP archive that holds no workbook", False,
                 "Unpack it and give the CSV, XLSX or .sav file inside, not the archive.")

# The suffixes the raw folder reads as wave files (any case), and those it names and skips.
SUFFIXES = {".csv": CSV, ".xlsx": XLSX, ".xlsm": XLSX, ".sav": SAV, ".zsav": SAV}
NOT_READ_SUFFIXES = {".xls": OLD_OFFICE, ".ods": OPENDOCUMENT, ".xlsb": XLSB, ".dta": STATA}

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# SPSS: `$FL2` for .sav, `$FL3` for the compressed .zsav.
_SPSS = (b"$FL2", b"$FL3")
# Stata 13 and later start with an XML-like tag; 8 to 12 with a release byte, the byte order and a file type of 1.
_STATA_XML = b"<stata_dta>"
_STATA_RELEASES = range(0x66, 0x74)
HEAD_BYTES = 16


def sniff(head: bytes) -> Kind:
    """The format the file's first bytes show; a ZIP archive is told apart by `resolve`, once the file is whole."""
    if head.startswith(_ZIP):
        return Kind("zip?", "a ZIP archive")
    if head.startswith(_OLE2):
        return OLD_OFFICE
    if head.startswith(_SPSS):
        return SAV_KIND
    if head.startswith(_STATA_XML) or (len(head) >= 4 and head[0] in _STATA_RELEASES and head[1] in (1, 2)
                                       and head[2] == 1 and head[3] == 0):
        return STATA
    return CSV_KIND


def resolve(kind: Kind, path: Path) -> Kind:
    """A ZIP archive's kind by what it holds: an XLSX workbook, an .ods or .xlsb, or something else."""
    if kind.name != "zip?":
        return kind
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        # Damaged or truncated: the workbook reader says what is wrong with it.
        return XLSX_KIND
    if "xl/workbook.xml" in names:
        return XLSX_KIND
    if "xl/workbook.bin" in names:
        return XLSB
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return OPENDOCUMENT
    return OTHER_ZIP
