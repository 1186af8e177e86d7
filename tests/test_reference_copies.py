"""The contract tests' copies of the Cekura reference stay identical to the team's shared copy."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "reference"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"


@pytest.mark.parametrize("name", ["cekura-openapi-subset.json", "cekura-fixtures.json"])
def test_copy_matches_the_shared_reference(name):
    if not (SHARED / name).exists():
        pytest.skip("no shared/ reference beside this checkout")
    assert (HERE / name).read_bytes() == (SHARED / name).read_bytes()
