"""Custody states and the transitions between them (the lifecycle state machine).

::

    registered --handover--> handed_over --store--> stored --check_out--> checked_out
                                                      ^                        |
                                                      +--store-- returned <-return
    stored | returned --dispose--> disposed   (final: a final leave, or the direct dispose)
    stored | returned --leave--> out_on_leave --come_back--> returned   (a temporary leave)

An action not in :data:`TRANSITIONS` for the item's current state is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class ItemState(enum.StrEnum):
    """Where an item is in its custody. Values appear in the projection and the API."""

    REGISTERED = "registered"
    HANDED_OVER = "handed_over"
    STORED = "stored"
    CHECKED_OUT = "checked_out"
    RETURNED = "returned"
    OUT_ON_LEAVE = "out_on_leave"  # out for a while (examination, court), due back
    DISPOSED = "disposed"


class Action(enum.StrEnum):
    """A custody step a person takes on an item."""

    HANDOVER = "handover"
    STORE = "store"
    CHECK_OUT = "check_out"
    RETURN = "return"
    DISPOSE = "dispose"
    LEAVE = "leave"  # carrying out a temporary leave
    COME_BACK = "come_back"  # the return from a temporary leave


class DisposalKind(enum.StrEnum):
    """How custody of an item ends; every disposal is approved by a supervisor."""

    RETURNED_TO_OWNER = "returned_to_owner"
    TO_PROSECUTOR = "to_prosecutor"
    TO_COURT = "to_court"
    DESTROYED = "destroyed"


class ItemKind(enum.StrEnum):
    """A case file or an exhibit (the label's first letter says which)."""

    CASE_FILE = "case_file"
    EXHIBIT = "exhibit"


# action -> (states it may start from, state it leads to)
TRANSITIONS: Mapping[Action, tuple[frozenset[ItemState], ItemState]] = {
    Action.HANDOVER: (frozenset({ItemState.REGISTERED}), ItemState.HANDED_OVER),
    Action.STORE: (frozenset({ItemState.HANDED_OVER, ItemState.RETURNED}), ItemState.STORED),
    Action.CHECK_OUT: (frozenset({ItemState.STORED}), ItemState.CHECKED_OUT),
    Action.RETURN: (frozenset({ItemState.CHECKED_OUT}), ItemState.RETURNED),
    Action.DISPOSE: (frozenset({ItemState.STORED, ItemState.RETURNED}), ItemState.DISPOSED),
    Action.LEAVE: (frozenset({ItemState.STORED, ItemState.RETURNED}), ItemState.OUT_ON_LEAVE),
    Action.COME_BACK: (frozenset({ItemState.OUT_ON_LEAVE}), ItemState.RETURNED),
}

#: States in which the item is in the centre's custody (and can be in a compartment).
OPEN_STATES = frozenset(ItemState) - {ItemState.DISPOSED}


def allowed(action: Action, state: ItemState) -> bool:
    """Whether ``action`` may be taken on an item in ``state``."""
    return state in TRANSITIONS[action][0]


def target(action: Action) -> ItemState:
    """The state ``action`` leads to."""
    return TRANSITIONS[action][1]
