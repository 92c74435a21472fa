"""The one-line hint for an integration whose library is not installed."""

import pytest

from tunelab._extras import require


def test_a_missing_library_names_the_extra_to_install() -> None:
    with pytest.raises(ImportError) as caught:
        require("no_such_library_xyz.sub", extra="xyz", user="tunelab.xyz")
    assert str(caught.value) == (
        "tunelab.xyz needs no_such_library_xyz, which is not installed: pip install 'tunelab[xyz]'"
    )


def test_an_installed_library_is_returned() -> None:
    assert require("json", extra="x", user="tunelab.x").__name__ == "json"


def test_a_missing_dependency_of_an_installed_library_is_not_hidden(tmp_path, monkeypatch) -> None:
    (tmp_path / "brokenlib_xyz.py").write_text("import missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="missing_dependency_xyz"):
        require("brokenlib_xyz", extra="x", user="tunelab.x")
