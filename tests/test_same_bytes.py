"""Same bytes on every machine: the shipped waves and the report do not depend on the CPU or its fonts."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from workflows.paths import FONTS_DIR, PROJECT_ROOT, RAW_DIR
from generators.portable_fits import logit_fit, ols_fit, portable_exp, portable_log

# The BLAS kernels OpenBLAS picks on other processors; Prescott's machine is also the narrowest:
# numpy without its AVX2 and AVX-512 loops, the C library's exp, log and pow without AVX2 and FMA.
# (This machine's own kernel is Haswell's.)
MACHINES = {
    "Haswell kernel": {"OPENBLAS_CORETYPE": "Haswell"},
    "Prescott kernel, no AVX2, AVX-512 or FMA": {"OPENBLAS_CORETYPE": "Prescott",
                                                 "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL",
                                                 "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA"},
}
NARROWEST = "Prescott kernel, no AVX2, AVX-512 or FMA"

GENERATE_SHIPPED_WAVES = """
import hashlib, json
from generators.follow_up import follow_up_csv
from generators.reconstruction import reconstruct
from generators.synthetic import to_csv
earlier = reconstruct()
print(json.dumps({"2007.csv": hashlib.sha256(to_csv(earlier)).hexdigest(),
                  "2009.csv": hashlib.sha256(follow_up_csv(earlier=earlier)).hexdigest()}))
"""
FINGERPRINT_OF_THE_FITS = "from tests.test_same_bytes import fits_fingerprint; print(fits_fingerprint())"


def environment(changes: dict) -> dict:
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def python(code: str, changes: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=environment(changes),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def output_of(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out


def fits_fingerprint(fits: int = 400) -> str:
    """The sha256 of every bit of the fits the generators' search compares, on seeded designs shaped
    like the 2007 wave's (51 firms; counts, years, exports in VND, cluster codes), and of `exp` and `log`."""
    rng = np.random.default_rng(2007)
    digest = hashlib.sha256()

    def record(value):
        if value is None:
            digest.update(b"none")
        elif isinstance(value, dict):
            for key in sorted(value):
                digest.update(key.encode())
                record(value[key])
        elif isinstance(value, np.ndarray):
            digest.update(np.ascontiguousarray(value, dtype=np.float64).tobytes())
        else:
            digest.update(float(value).hex().encode())

    n = 51
    for _ in range(fits):
        X = np.column_stack([np.ones(n), rng.integers(1, 200, n), rng.integers(1, 40, n),
                             rng.integers(0, 10**6, n) * 1000.0, rng.integers(1, 4, n), rng.integers(0, 3, n)])
        record(logit_fit(X.astype(float), (rng.random(n) < 0.35).astype(float)))
        record(ols_fit(X.astype(float), rng.integers(0, 3000, n) * 100_000.0))
    values = rng.uniform(-40.0, 40.0, 20_000)
    record(portable_exp(values))
    record(portable_log(np.abs(values) + 1e-6))
    return digest.hexdigest()


def test_the_fits_the_generators_compare_give_the_same_bits_whatever_the_blas_kernel_or_simd_width():
    """The search for the shipped waves is as portable as its fits: checked bit for bit on small designs."""
    processes = {machine: python(FINGERPRINT_OF_THE_FITS, changes) for machine, changes in MACHINES.items()}
    here = fits_fingerprint()
    assert {machine: output_of(process).strip() for machine, process in processes.items()} == {
        machine: here for machine in MACHINES}


@pytest.mark.integration
def test_the_generators_write_the_registered_bytes_on_the_narrowest_machine():
    """The whole search (some 20 s) once, end to end, on the machine least like this one, whose own
    kernel is Haswell's; every kernel's fits are compared bit for bit by the fingerprint above."""
    registered = {entry["file"]: entry["sha256"] for entry in json.loads((RAW_DIR / "synthetic.json").read_text())}
    shipped = {name: hashlib.sha256((RAW_DIR / name).read_bytes()).hexdigest() for name in ("2007.csv", "2009.csv")}
    assert shipped == registered
    written = json.loads(output_of(python(GENERATE_SHIPPED_WAVES, MACHINES[NARROWEST])))
    assert written == registered


# A configuration that would turn every font of a page into DejaVu Sans Mono.
OTHER_FONT_CONFIGURATION = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir>{fonts}</dir>
  <match target="pattern">
    <edit name="family" mode="prepend" binding="strong"><string>DejaVu Sans Mono</string></edit>
  </match>
</fontconfig>
"""

PAGE = """<html lang="en"><body style="font-family: 'DejaVu Serif'"><h1>Bát Tràng, Đông Kỵ, Vạn Phúc</h1>
<p>Zusammenfassung: 1.234,5 − <i>kursiv</i> <b>fett</b> <code>firm_id</code></p></body></html>"""
RENDER_AS_THE_REPORT = f"""
import hashlib
from workflows.report.rendering import render_pdf
print(hashlib.sha256(render_pdf({PAGE!r}, 1188604800).pdf).hexdigest())
"""
RENDER_WITH_SYSTEM_FONTS = f"""
import hashlib, os
os.environ["SOURCE_DATE_EPOCH"] = "1188604800"
from weasyprint import HTML
print(hashlib.sha256(HTML(string={PAGE!r}).write_pdf()).hexdigest())
"""


@pytest.mark.integration  # six renders, each in a new process
def test_the_pdf_uses_only_the_shipped_fonts_whatever_the_font_configuration(tmp_path):
    other = tmp_path / "fonts.conf"
    other.write_text(OTHER_FONT_CONFIGURATION.format(fonts=FONTS_DIR))
    empty = tmp_path / "empty.conf"
    empty.write_text(OTHER_FONT_CONFIGURATION.format(fonts=tmp_path / "no-fonts"))
    runs = {
        "control, system": python(RENDER_WITH_SYSTEM_FONTS, {}),
        "control, other": python(RENDER_WITH_SYSTEM_FONTS, {"FONTCONFIG_FILE": str(other)}),
        "system": python(RENDER_AS_THE_REPORT, {}),
        "other": python(RENDER_AS_THE_REPORT, {"FONTCONFIG_FILE": str(other)}),
        "no fonts": python(RENDER_AS_THE_REPORT, {"FONTCONFIG_FILE": str(empty)}),
    }
    runs["sysroot elsewhere"] = python(RENDER_AS_THE_REPORT, {"FONTCONFIG_SYSROOT": str(tmp_path)})
    sha = {name: output_of(process).strip() for name, process in runs.items()}
    assert sha["control, system"] != sha["control, other"], "the other configuration changes WeasyPrint's own choice"
    assert sha["system"] == sha["other"] == sha["no fonts"] == sha["sysroot elsewhere"]
