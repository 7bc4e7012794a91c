"""A form read once by pyxform is kept by the digest of its bytes: later runs read the same form without pyxform."""

import shutil

import pytest

from schemas import xlsform
from schemas.questionnaire import FORMS_DIR


def test_a_kept_form_is_the_form_pyxform_reads_and_a_changed_workbook_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsform, "FORM_CACHE", tmp_path / "cache")
    form_file = shutil.copy(FORMS_DIR / "2009.xlsx", tmp_path / "2009.xlsx")
    read = xlsform.read_form(form_file)
    [kept_file] = (tmp_path / "cache").glob("*.json")
    kept = xlsform.read_form(form_file)
    assert kept == read and kept == xlsform._read_with_pyxform(form_file)

    monkeypatch.setattr(xlsform, "_read_with_pyxform", lambda path: (_ for _ in ()).throw(AssertionError("read")))
    assert xlsform.read_form(form_file) == read  # from the cache: pyxform is not asked

    other = shutil.copy(FORMS_DIR / "2007.xlsx", tmp_path / "2009.xlsx")  # new bytes under the same name
    with pytest.raises(AssertionError, match="read"):
        xlsform.read_form(other)
    kept_file.write_text("{not json", encoding="utf-8")  # a damaged entry is read again, never trusted
    monkeypatch.undo()
    monkeypatch.setattr(xlsform, "FORM_CACHE", tmp_path / "cache")
    shutil.copy(FORMS_DIR / "2009.xlsx", tmp_path / "2009.xlsx")
    assert xlsform.read_form(form_file) == read
