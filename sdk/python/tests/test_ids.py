"""Event and decision ids: random bytes from the OS, read in blocks, never shared with a fork."""

from __future__ import annotations

import json
import os
import threading
import uuid

from decision_trace import DecisionTraceClient
from decision_trace.builder import TraceBuilder
from decision_trace.values import _new_event_id, random_hex_id


def test_random_ids_are_version_4_uuids_and_never_repeat():
    ids = [random_hex_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:2_000]:
        parsed = uuid.UUID(hex=text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == text


def test_event_ids_are_time_ordered_version_7_uuids():
    ids = [_new_event_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert {uuid.UUID(text).version for text in ids} == {7}
    assert {uuid.UUID(text).variant for text in ids} == {uuid.RFC_4122}
    millis = [uuid.UUID(text).int >> 80 for text in ids]
    assert millis == sorted(millis)


def test_threads_taking_ids_at_once_get_distinct_ones():
    found: list[list[str]] = []

    def take() -> None:
        mine = [random_hex_id() for _ in range(5_000)]
        found.append(mine + [_new_event_id() for _ in range(5_000)])

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [text for ids in found for text in ids]
    assert len(every) == 80_000 == len(set(every))


def test_a_forked_child_never_hands_out_its_parents_ids():
    """The child drops the block its parent read; both go on taking ids, none in common."""
    random_hex_id()  # the parent has a block partly used
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            ids = [random_hex_id() for _ in range(1_000)] + [_new_event_id() for _ in range(1_000)]
            os.write(write_end, json.dumps(ids).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    parent = [random_hex_id() for _ in range(1_000)] + [_new_event_id() for _ in range(1_000)]
    with os.fdopen(read_end, "rb") as pipe:
        child = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert len(child) == 2_000
    assert not set(child) & set(parent)


def test_a_fork_while_another_thread_takes_ids_leaves_the_child_working():
    """A lock held at the moment of the fork would never be released in the child."""
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            random_hex_id()

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        pids = []
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                os._exit(0 if len(random_hex_id()) == 32 else 1)
            pids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    finally:
        stop.set()
        worker.join()
    assert codes == [0] * 20


def test_each_built_event_has_its_own_event_and_decision_ids():
    client = DecisionTraceClient(transport=_NoTransport())
    builders = [TraceBuilder("order.created", f"Order {n}", client=client) for n in range(500)]
    events = [builder.because("Checked").build() for builder in builders]
    assert len({event.id for event in events}) == 500
    decision_ids = {event.decision.id for event in events if event.decision is not None}
    assert len(decision_ids) == 500
    clones = [builders[0].copy().build() for _ in range(50)]
    assert len({event.id for event in clones} | {events[0].id}) == 51


class _NoTransport:
    """A store that is never written to: these tests only build events."""

    background_safe = False
    destination = "nowhere"

    def close(self) -> None:
        """Nothing to release."""
