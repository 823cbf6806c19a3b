"""The suite's own helpers: a missing optional module skips a test, except under CI=true, where it fails."""

import pytest

from conftest import require, skip_or_fail

MISSING = "seqimp_no_such_module_for_the_test"


def test_require_returns_the_module():
    import json

    assert require("json") is json


def test_a_missing_module_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        require(MISSING)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require(MISSING)


def test_a_missing_module_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=rf"{MISSING}.*under CI=true this is a failure"):
        require(MISSING)
    with pytest.raises(pytest.fail.Exception, match="kernel 'ir'"):
        skip_or_fail("Jupyter kernel 'ir' is not installed")


def test_a_module_that_fails_on_import_is_not_a_skip_under_ci(monkeypatch, tmp_path):
    # A broken install raises ImportError from inside the package: that is the case CI must catch.
    (tmp_path / "seqimp_broken_module.py").write_text("import seqimp_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="seqimp_no_such_dependency"):
        require("seqimp_broken_module")
