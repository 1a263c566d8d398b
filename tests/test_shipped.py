"""Tests of sim.shipped: where the shipped scenario and experiment files are."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import shipped

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", ["scenarios", "experiments"])
def test_folder_of_a_source_checkout_is_the_top_level_folder(kind):
    assert shipped.folder(kind).resolve() == (ROOT / kind).resolve()


@pytest.mark.parametrize("kind", ["scenarios", "experiments"])
def test_names_are_the_sorted_yaml_stems(kind):
    expected = sorted(p.stem for p in (ROOT / kind).glob("*.yaml"))
    assert expected  # something is shipped
    assert shipped.names(kind) == expected


def test_known_names():
    assert "fish_pond" in shipped.names("scenarios")
    assert "seed_count" in shipped.names("experiments")


def test_unknown_kind_is_refused():
    with pytest.raises(KeyError):
        shipped.folder("charts")
