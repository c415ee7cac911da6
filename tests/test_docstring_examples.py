"""Every example in the public docstrings runs and shows what it says."""

import doctest
import importlib
import pkgutil
import tempfile

import pytest

import ragtune

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(ragtune.__path__, prefix="ragtune.")
    if not name.startswith("ragtune._") and ".cli" not in name and name != "ragtune.__main__"
)


@pytest.mark.parametrize("name", ["ragtune", *MODULES])
def test_docstring_examples(name, tmp_path, monkeypatch):
    # The examples make folders with tempfile.mkdtemp(), as a user would: inside this test's own.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
