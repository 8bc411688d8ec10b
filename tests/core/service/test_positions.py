"""Which changes of a place in line are worth an edit of the user's status message."""

from __future__ import annotations

import pytest

from core.service.positions import worth_saying


@pytest.mark.parametrize(
    ("shown", "place", "said"),
    [
        (None, 7, True),  # never said here (another process accepted it)
        (3, 3, False),
        (3, 2, True),  # near the front: every change
        (2, 3, True),  # moved back: fair share served someone first
        (100, 95, False),  # far back: small moves wait
        (100, 80, True),
        (100, 121, True),
    ],
)
def test_changes_worth_saying(shown: int | None, place: int, said: bool) -> None:
    assert worth_saying(shown, place) is said
