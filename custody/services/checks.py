"""Checks the custody commands run before writing: transitions, manifests, the checklist.

Each raises the precise :class:`~custody.domain.errors.CustodyError` subclass; none writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from custody.domain.errors import (
    AlreadyDisposedError,
    AlreadyHandedOverError,
    AlreadyStoredError,
    ChecklistIncompleteError,
    DuplicateItemError,
    IllegalTransitionError,
    InvalidInputError,
    NotCheckedOutError,
    NotOnCaseError,
)
from custody.domain.people import Directory, Role
from custody.domain.states import Action, ItemState, allowed
from custody.domain.values import MAX_INT, ItemSpec, check_text, utc_text
from custody.labels import parse_label
from custody.projection import ItemView, Projection
from custody.rules.deadlines import handover_due
from custody.settings import RulesSettings


def refuse_transition(item: ItemView, action: Action) -> None:
    """Raise the precise error when ``action`` is not allowed from the item's state."""
    if allowed(action, item.state):
        return
    if item.state is ItemState.DISPOSED:
        raise AlreadyDisposedError(
            f"item {item.label} was disposed of ({item.disposal}); its custody is closed"
        )
    if action is Action.HANDOVER:
        raise AlreadyHandedOverError(
            f"item {item.label} was already handed over (it is now {item.state.value})"
        )
    if action is Action.STORE and item.state is ItemState.STORED:
        raise AlreadyStoredError(
            f"item {item.label} is already stored in compartment {item.compartment}"
        )
    if action is Action.CHECK_OUT and item.state is ItemState.CHECKED_OUT:
        raise IllegalTransitionError(
            f"item {item.label} is already checked out to {item.holder}"
        )
    if action is Action.RETURN:
        raise NotCheckedOutError(
            f"item {item.label} is not checked out (it is {item.state.value}), so it"
            " cannot be returned"
        )
    raise IllegalTransitionError(
        f"cannot {action.value.replace('_', ' ')} item {item.label}: it is"
        f" {item.state.value}"
    )


def item_rows(
    specs: Sequence[ItemSpec],
    officers: Sequence[str],
    default_officer: str,
    *,
    projection: Projection,
    directory: Directory,
    settings: RulesSettings,
    now: datetime,
) -> list[dict[str, Any]]:
    """Check a manifest and turn it into the entry's item objects (deadline included)."""
    if not specs:
        raise InvalidInputError("a registration needs at least one item in its manifest")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for spec in specs:
        label = parse_label(spec.label)
        text = label.text
        if text in seen or text in projection.items:
            raise DuplicateItemError(f"an item with label {text} is already registered")
        seen.add(text)
        if spec.kind != label.kind:
            raise InvalidInputError(
                f"item {text}: kind {spec.kind!r} does not match its label ({label.kind})"
            )
        if isinstance(spec.quantity, bool) or not isinstance(spec.quantity, int) or not (
            1 <= spec.quantity <= MAX_INT
        ):
            raise InvalidInputError(f"item {text}: quantity must be a positive whole number")
        seized_at = spec.seized_at
        if not isinstance(seized_at, datetime) or seized_at.tzinfo is None:
            raise InvalidInputError(f"item {text}: seized_at must be a time with a zone")
        if seized_at > now:
            raise InvalidInputError(f"item {text}: seized_at {seized_at} is in the future")
        seizing = spec.seizing_officer or default_officer
        if seizing not in officers:
            directory.require(seizing, Role.OFFICER)
            raise NotOnCaseError(f"item {text}: seizing officer {seizing!r} is not on the case")
        rows.append(
            {
                "label": text,
                "kind": label.kind,
                "category": check_text(spec.category, "category", allow_empty=True,
                                       limit=64).lower(),
                "description": check_text(spec.description, f"item {text} description"),
                "quantity": spec.quantity,
                "seized_from": check_text(spec.seized_from, "seized_from", allow_empty=True),
                "seized_at": utc_text(seized_at),
                "seizing_officer": seizing,
                "handover_due": utc_text(handover_due(seized_at, settings)),
            }
        )
    return rows


def signed_checklist(checklist: Mapping[str, bool], wanted: Sequence[str]) -> dict[str, bool]:
    """The checklist as recorded: every item confirmed, no unknown item."""
    unknown = sorted(set(checklist) - set(wanted))
    if unknown:
        raise InvalidInputError(f"unknown lawfulness checklist item(s): {', '.join(unknown)}")
    unsigned = [name for name in wanted if checklist.get(name) is not True]
    if unsigned:
        raise ChecklistIncompleteError(
            "the clerk has not confirmed the lawfulness checklist item(s): "
            + ", ".join(unsigned)
        )
    return {name: True for name in wanted}
