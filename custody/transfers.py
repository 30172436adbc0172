"""Chain-of-custody transfers: who handed which items to whom, where and why, step by step.

A report shows custody as a list of hand-to-hand transfers. This module reads the custody
entries of some items, in ledger order, and says for each one who gave the items up (a
person, a compartment, or someone outside the station such as the person they were seized
from) and who took them (a person, a compartment, or an outside destination such as the
court). The only state it keeps is where each item was last stored, so a check-out can say
which compartment it came from: the rest is in the entries themselves.

An item leaving custody (``leave.carried_out``) goes from its compartment to its recipient
(name and unit), with the kind, who asked, the approving supervisor, the decision number,
the recipient's ID number and the second clerk; ``leave.returned`` brings it back.

Entries of other kinds (notices, alarms, reports issued, labels printed) are not transfers;
:func:`transfers` skips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from custody.leaving import LEAVE_CARRIED_OUT, LEAVE_RETURNED
from custody.projection import (
    CASE_HANDED_OVER,
    CASE_ITEMS_ADDED,
    CASE_REGISTERED,
    ITEM_CHECKED_OUT,
    ITEM_DISPOSED,
    ITEM_RETURNED,
    ITEM_STORED,
)

# What a party is: a member of staff, a compartment, the evidence centre as a whole, or
# someone or something outside the station (the person an item was seized from, the court).
PERSON, COMPARTMENT, CENTRE, OUTSIDE = "person", "compartment", "centre", "outside"

# Why items changed hands (report texts are keyed on these).
SEIZURE, HANDOVER, STORAGE, CHECK_OUT, RETURN, DISPOSAL = (
    "seizure", "handover", "storage", "check_out", "return", "disposal",
)
# an item leaving custody (custody.leaving): carried out to its recipient, back from a
# temporary leave
LEAVE, LEAVE_RETURN = "leave", "leave_return"

TRANSFER_KINDS = frozenset(
    {CASE_REGISTERED, CASE_ITEMS_ADDED, CASE_HANDED_OVER, ITEM_STORED, ITEM_CHECKED_OUT,
     ITEM_RETURNED, ITEM_DISPOSED, LEAVE_CARRIED_OUT, LEAVE_RETURNED}
)


@dataclass(frozen=True)
class Party:
    """One side of a transfer: ``kind`` is PERSON, COMPARTMENT, CENTRE or OUTSIDE; ``ref``
    is the person id, the compartment (``cabinet/n``), or the outside name (may be empty)."""

    kind: str
    ref: str


@dataclass(frozen=True)
class Transfer:
    """One hand-over of ``items`` in entry ``seq``.

    ``detail`` holds what the purpose needs besides the parties: the disposal kind and its
    approving supervisor, a handover's missing/extra labels, a return's lateness.
    """

    seq: int
    ts: str
    kind: str
    actor: str
    items: tuple[str, ...]
    giver: Party
    receiver: Party
    purpose: str
    place: str  # the compartment the items went into or came out of ("" when none)
    photos: tuple[tuple[str, int], ...]
    detail: tuple[tuple[str, str], ...] = ()


def _photos(body: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    return tuple((str(p["sha256"]), int(p["bytes"])) for p in body.get("photos", ()))


def transfers(entries: Iterable[Mapping[str, Any]], labels: Iterable[str]) -> list[Transfer]:
    """The transfers of the items ``labels`` in decoded entries (ledger order).

    Entries that name none of the labels, and entries that are not transfers, give none.
    A registration or a handover that names several of the labels gives one transfer per
    distinct pair of parties (items seized from different people are different transfers).
    """
    wanted = set(labels)
    stored_in: dict[str, str] = {}  # label -> the compartment it was last stored in
    holder: dict[str, str] = {}  # label -> the officer who seized it (until handover)
    out: list[Transfer] = []
    for body in entries:
        if str(body.get("kind")) in TRANSFER_KINDS:
            out.extend(_of_entry(body, wanted, stored_in, holder))
    return out


def _of_entry(
    body: Mapping[str, Any], wanted: set[str], stored_in: dict[str, str],
    holder: dict[str, str],
) -> list[Transfer]:
    kind = str(body["kind"])
    out: list[Transfer] = []
    seq, ts, actor = int(body["seq"]), str(body["ts"]), str(body.get("actor", ""))
    photos = _photos(body)

    def add(items: Iterable[str], giver: Party, receiver: Party, purpose: str,
            place: str = "", detail: tuple[tuple[str, str], ...] = ()) -> None:
        out.append(Transfer(seq, ts, kind, actor, tuple(sorted(items)), giver, receiver,
                            purpose, place, photos, detail))

    if kind in (CASE_REGISTERED, CASE_ITEMS_ADDED):
        groups: dict[tuple[str, str], list[str]] = {}
        for it in body["items"]:
            label = str(it["label"])
            holder[label] = str(it["seizing_officer"])
            if label in wanted:
                key = (str(it["seized_from"]), str(it["seizing_officer"]))
                groups.setdefault(key, []).append(label)
        for (seized_from, officer), items in groups.items():
            add(items, Party(OUTSIDE, seized_from), Party(PERSON, officer), SEIZURE)
    elif kind == CASE_HANDED_OVER:
        taken = [x for x in body["items"] if x in wanted]
        detail = tuple(
            (name, ", ".join(body.get(name, ()))) for name in ("missing", "extra")
            if body.get(name)
        ) + ((("reason", str(body["reason"])),) if body.get("reason") else ())
        by_giver: dict[str, list[str]] = {}
        for label in taken:
            by_giver.setdefault(holder.get(label, ""), []).append(label)
        for giver, items in by_giver.items():
            add(items, Party(PERSON, giver), Party(PERSON, str(body["clerk"])), HANDOVER,
                detail=detail)
    else:
        label = str(body["item"])
        if label not in wanted:
            return out
        if kind == ITEM_STORED:
            where = str(body["compartment"])
            stored_in[label] = where
            add([label], Party(PERSON, actor), Party(COMPARTMENT, where), STORAGE, where)
        elif kind == ITEM_CHECKED_OUT:
            where = stored_in.pop(label, "")
            source = Party(COMPARTMENT, where) if where else Party(CENTRE, "")
            add([label], source, Party(PERSON, str(body["officer"])), CHECK_OUT, where,
                (("due", str(body["due"])),))
        elif kind == ITEM_RETURNED:
            officer = str(body["officer"])
            receiver = Party(CENTRE, "") if actor == officer else Party(PERSON, actor)
            add([label], Party(PERSON, officer), receiver, RETURN,
                detail=(("late", "true" if body.get("late") else "false"),))
        elif kind == ITEM_DISPOSED:
            where = stored_in.pop(label, "")
            source = Party(COMPARTMENT, where) if where else Party(CENTRE, "")
            add([label], source, Party(OUTSIDE, str(body["disposal"])), DISPOSAL, where,
                (("disposal", str(body["disposal"])),
                 ("approved_by", str(body["approved_by"])),
                 ("reference", str(body.get("reference", "")))))
        elif kind == LEAVE_CARRIED_OUT:
            where = stored_in.pop(label, "")
            source = Party(COMPARTMENT, where) if where else Party(CENTRE, "")
            who = body["recipient"]
            name = str(who["name"]) + (f" ({who['unit']})" if who.get("unit") else "")
            add([label], source, Party(OUTSIDE, name), LEAVE, where, (
                ("leave", str(body["leave"])),
                ("requested_by", str(body.get("requested_by") or "")),
                ("approved_by", str(body.get("approved_by") or "")),
                ("reference", str(body.get("decision_no") or "")),
                ("recipient_id", str(who.get("id_number") or "")),
                ("second_clerk", str(body.get("second_clerk") or "")),
                *((("due", str(body["due"])),) if body.get("due") else ()),
            ))
        elif kind == LEAVE_RETURNED:
            add([label], Party(OUTSIDE, ""), Party(PERSON, actor), LEAVE_RETURN,
                detail=(("late", "true" if body.get("late") else "false"),))
    return out
