"""The outbox store and the topic names, without a broker."""

from __future__ import annotations

from pathlib import Path

from custody.ledger.ledger import Ledger
from custody.ledger.station import init_station
from custody.ports import Notice
from lockerd.mqtt import LEDGER_CURSOR, MqttNotifier, Topics, feed_ledger, topic_segment
from lockerd.outbox import OutboxStore, OutMessage


def test_enqueue_is_durable_ordered_and_deduplicated(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db")
    assert store.enqueue(OutMessage("t/a", b"1", dedupe="k1"))
    assert not store.enqueue(OutMessage("t/a", b"1 again", dedupe="k1"))
    store.enqueue_many([OutMessage("t/b", b"2"), OutMessage("t/c", b"3")], cursor=("x", 7))
    store.close()
    again = OutboxStore(tmp_path / "o.db")
    rows = again.pending()
    assert [r.payload for r in rows] == [b"1", b"2", b"3"]
    assert again.cursor("x") == 7
    assert again.cursor("never") == -1
    again.mark_sent([rows[0].id])
    assert [r.payload for r in again.pending()] == [b"2", b"3"]
    assert [r.payload for r in again.pending(after_id=rows[1].id)] == [b"3"]
    again.reject(rows[1].id, "invalid topic")
    assert again.counts() == (1, 2)


def test_feed_resumes_from_its_cursor(tmp_path: Path) -> None:
    paths = init_station(tmp_path / "st", "test.example/st")
    store = OutboxStore(tmp_path / "o.db")
    topics = Topics("s")
    with Ledger.open(paths.root) as ledger:
        for i in range(5):
            ledger.append("test.event", {"n": i}, actor="t")
        assert feed_ledger(store, ledger, topics) == 5
        assert store.cursor(LEDGER_CURSOR) == 4
        ledger.append("alarm.door_forced", {"n": 5}, actor="t")
        assert feed_ledger(store, ledger, topics) == 1
        assert feed_ledger(store, ledger, topics) == 0
    topics_seen = [r.topic for r in store.pending(limit=100)]
    assert topics_seen == ["locker/s/custody"] * 6 + ["locker/s/alarm"]


def test_topic_segments_never_hold_wildcards() -> None:
    t = Topics("st")
    assert t.notify("complainant", "+86-138 0000") == "locker/st/notify/complainant/_86-138 0000"
    assert topic_segment("a/b#c") == "a_b_c"
    assert topic_segment("") == "_"


def test_notifier_enqueues_each_key_once(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db")
    n = MqttNotifier(store, Topics("st"))
    notice = Notice("k:1", "officer", "off1", "s", "t")
    n.send(notice)
    n.send(notice)
    assert store.counts() == (1, 0)
    assert n.sent == [notice]


def test_prune_keeps_the_newest_sent_and_every_pending(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db")
    store.enqueue_many([OutMessage("t", str(i).encode()) for i in range(10)])
    rows = store.pending(limit=10)
    store.mark_sent([r.id for r in rows[:8]])
    assert store.prune(keep_sent=3) == 5
    assert store.counts() == (2, 3)
    assert [r.payload for r in store.pending()] == [b"8", b"9"]
