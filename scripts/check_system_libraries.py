"""Say clearly which system library WeasyPrint lacks, before anything fails deep in an import.

WeasyPrint draws text with Pango, HarfBuzz and Fontconfig, which come from the operating
system, not from PyPI. Runs on the plain system Python (standard library only), so
`make` can call it before the virtual environment exists.
"""

import ctypes
import ctypes.util
import sys

# (library, the call that gives its version, the oldest version that works, Debian's package).
# Fontconfig 2.13 is the first to read the report's font folder relative to its fonts.conf.
LIBRARIES = [
    ("gobject-2.0", None, None, "libglib2.0-0"),
    ("pango-1.0", "pango_version_string", (1, 44), "libpango-1.0-0"),
    ("pangoft2-1.0", None, None, "libpangoft2-1.0-0"),
    ("harfbuzz", "hb_version_string", (2, 6), "libharfbuzz0b"),
    ("fontconfig", None, (2, 13), "libfontconfig1"),
]


def version_of(library: ctypes.CDLL, name: str, call: str | None) -> str | None:
    if name == "fontconfig":
        encoded = library.FcGetVersion()  # 21401 is 2.14.1
        return f"{encoded // 10000}.{encoded // 100 % 100}.{encoded % 100}"
    if call is None:
        return None
    function = getattr(library, call)
    function.restype = ctypes.c_char_p
    return function().decode()


def problems() -> list[str]:
    found = []
    for name, call, oldest, package in LIBRARIES:
        path = ctypes.util.find_library(name)
        if path is None:
            found.append(f"lib{name} is missing: install {package}")
            continue
        version = version_of(ctypes.CDLL(path), name, call)
        if oldest and version and tuple(int(part) for part in version.split(".")[:2]) < oldest:
            found.append(f"lib{name} is {version}, WeasyPrint needs {'.'.join(map(str, oldest))} or newer: "
                         f"upgrade {package}")
    return found


if __name__ == "__main__":
    if not sys.platform.startswith("linux"):
        # find_library does not search where Homebrew or Windows keep these libraries.
        print("Not on Linux: the check of WeasyPrint's system libraries is skipped.", file=sys.stderr)
        sys.exit(0)
    if missing := problems():
        print("The PDF report needs system libraries that this machine lacks:", file=sys.stderr)
        for line in missing:
            print(f"  - {line}", file=sys.stderr)
        packages = " ".join(package.split()[0] for *_, package in LIBRARIES)
        print(f"On Debian or Ubuntu: apt-get install {packages} (the README lists the versions tested).",
              file=sys.stderr)
        sys.exit(1)
