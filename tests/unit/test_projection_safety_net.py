"""When a projection's safety net reads the store itself: events it should have had delivered by now."""

from __future__ import annotations

from eventstore.projector import missed_up_to


def test_after_a_start_everything_in_the_store_counts() -> None:
    assert missed_up_to(head=120, previous_head=None) == 120


def test_events_that_arrived_since_the_previous_look_are_still_on_their_way() -> None:
    # The previous look saw the head at 100; 20 events arrived since. Only up to 100 may be called missed.
    assert missed_up_to(head=120, previous_head=100) == 100


def test_a_quiet_store_counts_all_of_it() -> None:
    assert missed_up_to(head=100, previous_head=100) == 100


def test_a_store_restored_behind_the_previous_look_counts_up_to_its_head() -> None:
    assert missed_up_to(head=80, previous_head=100) == 80
