"""Delivery over HTTP to a real server thread: faults, retries, exactly once, queue full, exit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from contract_server import ContractServer, free_port

from decision_trace import (
    ApiError,
    ConfigurationError,
    DecisionTraceClient,
    DeliveryQueueFullError,
    TraceValidationError,
)

SDK_ROOT = Path(__file__).resolve().parents[1]
FAST = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 5.0}


def _client(server: ContractServer, **options: object) -> DecisionTraceClient:
    return DecisionTraceClient(server.url, server.token, **{**FAST, **options})


def _record(client: DecisionTraceClient, n: int, **options: object) -> list[str]:
    return [client.trace("load.event", f"Event {i}").record(**options) for i in range(n)]


def test_sync_record_returns_once_stored(server):
    """Synchronous by default: record() returns the id the server stored."""
    client = _client(server)
    event_id = client.trace("order.created", "Placed").by_user("u-1", "Jane").record()
    assert server.stored[event_id] == 1
    assert event_id.decision_id is None
    assert event_id.duplicate is False
    (key, count, outcome) = server.posts[0]
    assert (count, outcome) == (1, "201")
    assert key  # every POST carries an Idempotency-Key
    headers = server.requests[0][2]
    assert headers["Authorization"] == "Bearer test-token"


def test_sync_record_reports_the_servers_decision(server):
    """The server decides approval; record() carries its decision id."""
    client = _client(server)
    held = client.trace("refund.issued").because("Large").requires_approval().record()
    assert held.decision_id == server.decisions[held]


@pytest.mark.parametrize("fault", ["500", "429", "drop"])
def test_sync_record_retries_with_the_same_key(fault):
    """A 500, a 429 or a dropped connection is retried with the same key; stored once."""
    with ContractServer(faults=[fault], retry_after="0") as server:
        event_id = _client(server).trace("order.created").record()
        assert server.stored[event_id] == 1
        keys = {key for key, _, _ in server.posts}
        assert len(keys) == 1
        first = server.posts[0][2]
        assert first == {"drop": "dropped"}.get(fault, fault)


def test_sync_record_bad_input_is_a_validation_error():
    """A 422 is a TraceValidationError with the server's message, not retried."""
    with ContractServer(faults=["422"]) as server:
        with pytest.raises(TraceValidationError, match="actor id is bad"):
            _client(server).trace("order.created").record()
        assert len(server.posts) == 1


def test_sync_record_wrong_token_is_an_api_error(server):
    client = DecisionTraceClient(server.url, "wrong", **FAST)
    with pytest.raises(ApiError) as raised:
        client.trace("order.created").record()
    assert (raised.value.status, raised.value.code) == (401, "unauthorized")


def test_sync_record_gives_up_when_the_server_stays_down():
    """With the server down, record() raises after its retries: it never loses silently."""
    client = DecisionTraceClient(f"http://127.0.0.1:{free_port()}", "t", max_retries=2, **FAST)
    with pytest.raises(ApiError, match=r"after 3 attempt\(s\)") as raised:
        client.trace("order.created").record()
    assert raised.value.status == 0


def test_buffered_500_then_200_exactly_once():
    """Buffered: a 500 is retried with the same key; every event arrives once."""
    with ContractServer(faults=["500", "500"]) as server:
        client = _client(server, batch=True, batch_size=10, flush_interval=0.05)
        ids = _record(client, 25)
        assert client.flush(10)
        assert sorted(server.stored) == sorted(ids)
        assert set(server.stored.values()) == {1}
        stats = client.delivery_stats()
        assert (stats.sent, stats.retried, stats.dropped, stats.pending) == (25, 2, 0, 0)
        client.close()


def test_buffered_429_honours_retry_after():
    """A 429 waits Retry-After seconds before the retry."""
    with ContractServer(faults=["429"], retry_after="1") as server:
        client = _client(server, batch=True, flush_interval=0.05)
        started = time.monotonic()
        _record(client, 3)
        assert client.flush(10)
        assert time.monotonic() - started >= 0.9
        assert client.delivery_stats().retried == 1
        assert len(server.stored) == 3
        client.close()


def test_buffered_connection_dropped_mid_batch_no_duplicates():
    """The server stores a batch and drops the connection; the retry is replayed, not stored."""
    with ContractServer(faults=["drop"]) as server:
        client = _client(server, batch=True, batch_size=50, flush_interval=0.05)
        ids = _record(client, 40)
        assert client.flush(10)
        assert set(server.stored) == set(ids)
        assert set(server.stored.values()) == {1}
        outcomes = [outcome for _, _, outcome in server.posts]
        assert outcomes == ["dropped", "replayed"]
        assert server.posts[0][0] == server.posts[1][0]  # the same Idempotency-Key
        client.close()


def test_buffered_server_down_at_start_then_up():
    """Events recorded while the server is down arrive, once each, when it comes up."""
    port = free_port()
    client = DecisionTraceClient(
        f"http://127.0.0.1:{port}",
        "test-token",
        batch=True,
        flush_interval=0.05,
        max_retries=200,
        **FAST,
    )
    ids = _record(client, 30)
    time.sleep(0.3)
    assert client.delivery_stats().retried >= 1
    with ContractServer(port=port) as server:
        assert client.flush(10)
        assert set(server.stored) == set(ids)
        assert set(server.stored.values()) == {1}
        assert client.delivery_stats().sent == 30
        client.close()


def test_buffered_refused_batch_is_logged_and_counted(caplog):
    """A batch the server refuses is dropped, counted and logged with the reason."""
    with ContractServer(faults=["422"]) as server:
        client = _client(server, batch=True, flush_interval=0.05)
        with caplog.at_level(logging.ERROR, logger="decision_trace"):
            _record(client, 2)
            assert client.flush(10)
        stats = client.delivery_stats()
        assert (stats.sent, stats.dropped) == (0, 2)
        assert "dropped" in caplog.text
        assert "actor id is bad" in caplog.text
        client.close()


def test_buffered_queue_full_raises_and_counts():
    """A full queue refuses the event with DeliveryQueueFullError; nothing silently lost."""
    port = free_port()
    client = DecisionTraceClient(
        f"http://127.0.0.1:{port}",
        "test-token",
        batch=True,
        batch_size=100,
        flush_interval=60,
        max_queue_size=3,
        **FAST,
    )
    queued = _record(client, 3)
    with pytest.raises(DeliveryQueueFullError, match="queue is full"):
        client.trace("load.event", "one too many").record()
    stats = client.delivery_stats()
    assert (stats.pending, stats.rejected) == (3, 1)
    with ContractServer(port=port) as server:
        assert client.close(10)
        assert set(server.stored) == set(queued)


def test_record_wait_false_queues_on_a_synchronous_client(server):
    """record(wait=False) queues even when the client is synchronous by default."""
    client = _client(server, flush_interval=60)
    event_id = client.trace("a.b").record(wait=False)
    assert event_id.decision_id is None
    assert client.delivery_stats().pending == 1
    assert client.flush(10)
    assert server.stored[event_id] == 1
    client.close()


def test_span_tree_travels_in_one_batch(server):
    """A span and the events recorded inside it go in one POST, parent first."""
    client = _client(server)
    with client.span("workflow.run") as span:
        step = client.trace("workflow.step").record()
        sub = client.trace("workflow.sub").child_of(step).record()
        assert not server.stored
    assert [count for _, count, _ in server.posts] == [3]
    assert server.events[step]["data"]["parent_event_id"] == span.event_id
    assert server.events[sub]["data"]["parent_event_id"] == step


def test_a_chains_batches_wait_for_their_parents():
    """A batch whose first event is the child of one still on the wire is sent after it."""
    with ContractServer(faults=["slow", "slow", "slow"]) as server:
        client = _client(server, batch=True, batch_size=2, flush_interval=0.01)
        chain = [client.trace("chain.step", "Step 0").record()]
        for n in range(1, 12):
            chain.append(client.trace("chain.step", f"Step {n}").child_of(chain[-1]).record())
        assert client.close(10)
        stats = client.delivery_stats()
    assert (stats.sent, stats.dropped, stats.pending) == (12, 0, 0)
    assert list(server.events) == chain  # stored in the order recorded
    assert set(server.stored.values()) == {1}
    assert server.most_events_in_flight == 1
    assert [outcome for _, _, outcome in server.posts] == ["201"] * 6


@pytest.mark.parametrize("max_in_flight", [1, 2, 3])
def test_independent_batches_are_sent_max_in_flight_at_a_time(max_in_flight):
    """Batches without a parent on the wire go side by side, up to max_in_flight at once."""
    with ContractServer(faults=["slow"] * 6) as server:
        client = _client(
            server, batch=True, batch_size=2, flush_interval=0.01, max_in_flight=max_in_flight
        )
        ids = _record(client, 12)
        assert client.close(10)
        stats = client.delivery_stats()
    assert (stats.sent, stats.dropped, stats.pending) == (12, 0, 0)
    assert set(server.stored) == set(ids)
    assert set(server.stored.values()) == {1}
    assert server.most_events_in_flight == max_in_flight


def test_many_threads_record_concurrently(server):
    """Eight threads record buffered at once; every event arrives once."""
    client = _client(server, batch=True, batch_size=64, flush_interval=0.02)
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = _record(client, 50)
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.close(10)
    assert len(server.stored) == 400 == len(set(ids))
    assert set(server.stored.values()) == {1}


def test_closed_client_refuses_buffered_records(server):
    client = _client(server, batch=True)
    client.trace("a.b").record()
    client.close(5)
    with pytest.raises(ConfigurationError, match="closed"):
        client.trace("a.b").record()


@pytest.mark.parametrize("ending", ["", "del client; import gc; gc.collect()"])
def test_process_exit_flushes_pending_events(server, ending):
    """A process that exits with events queued sends them first (atexit), even unreferenced."""
    script = textwrap.dedent(
        f"""
        import json
        from decision_trace import DecisionTraceClient
        client = DecisionTraceClient({server.url!r}, {server.token!r}, batch=True,
                                     flush_interval=60)
        ids = [client.trace("exit.test", str(i)).record() for i in range(5)]
        print(json.dumps({{"ids": ids, "pending": client.delivery_stats().pending}}))
        {ending}
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=SDK_ROOT,
        env={**os.environ, "PYTHONPATH": str(SDK_ROOT), "DECISION_TRACE_EXIT_TIMEOUT": "oops"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["pending"] == 5
    assert set(server.stored) == set(report["ids"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 1001}, "batch_size"),
        ({"max_queue_size": True}, "max_queue_size"),
        ({"flush_interval": 0}, "flush_interval"),
        ({"flush_interval": float("nan")}, "flush_interval"),
        ({"timeout": -1}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"max_in_flight": 17}, "max_in_flight"),
        ({"max_in_flight": True}, "max_in_flight"),
        ({"max_in_flight": "2"}, "max_in_flight"),
        ({"max_in_flight": 2.0}, "max_in_flight"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ConfigurationError, match=message):
        DecisionTraceClient("http://127.0.0.1:9", "t", **options)


@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:8000", "http://", "", "javascript:alert(1)"])
def test_bad_base_url_is_refused(url, monkeypatch):
    monkeypatch.delenv("DECISION_TRACE_URL", raising=False)
    with pytest.raises(ConfigurationError):
        DecisionTraceClient(url or "x", "t")


def test_no_url_and_no_registered_transport_says_what_to_set(monkeypatch):
    monkeypatch.delenv("DECISION_TRACE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DECISION_TRACE_URL"):
        DecisionTraceClient()


def test_url_and_token_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("DECISION_TRACE_URL", server.url)
    monkeypatch.setenv("DECISION_TRACE_TOKEN", server.token)
    event_id = DecisionTraceClient().trace("env.test").record()
    assert server.stored[event_id] == 1


@pytest.fixture
def tls_server(tmp_path, server):
    """The contract server behind TLS with a self-signed certificate (openssl makes it)."""
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    assert server._server is not None
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    return server


def test_tls_verification_is_on_by_default(tls_server):
    """A certificate nobody signed is refused by default; verify=False is an explicit choice."""
    url = f"https://127.0.0.1:{tls_server.port}"
    with pytest.raises(ApiError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        DecisionTraceClient(url, tls_server.token, max_retries=0, **FAST).trace("a.b").record()
    event_id = (
        DecisionTraceClient(url, tls_server.token, verify=False, **FAST).trace("a.b").record()
    )
    assert tls_server.stored[event_id] == 1


def test_every_call_has_a_timeout():
    """A server that accepts and never answers costs the timeout, not forever."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = DecisionTraceClient(url, "t", timeout=0.3, max_retries=0)
        started = time.monotonic()
        with pytest.raises(ApiError, match="Timeout"):
            client.get_event("0190b8e4-0000-7000-8000-000000000000")
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_close_timeout_gives_up_what_is_queued(caplog):
    """close(timeout) with the server away: queued events are counted dropped and logged."""
    client = DecisionTraceClient(
        f"http://127.0.0.1:{free_port()}",
        "t",
        batch=True,
        batch_size=5,
        flush_interval=60,
        max_retries=1000,
        **FAST,
    )
    _record(client, 12)
    with caplog.at_level(logging.WARNING, logger="decision_trace"):
        assert client.close(timeout=0.2) is False
    stats = client.delivery_stats()
    assert stats.dropped + stats.pending == 12
    assert stats.sent == 0
    assert "not delivered" in caplog.text
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("fault", "message"), [("garbage", "not JSON"), ("short", "does not list")]
)
def test_nonsense_answer_is_a_clear_error(fault, message):
    """A 2xx the SDK cannot read is an ApiError saying so, not a crash or a silent success."""
    with ContractServer(faults=[fault]) as server, pytest.raises(ApiError, match=message):
        _client(server).trace("a.b").record()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("999999", 300.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Thu, 01 Jan 2099 00:00:00 GMT", 300.0),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("\x00", None),
    ],
)
def test_retry_after_values(header, expected):
    from decision_trace.http import retry_after_seconds

    assert retry_after_seconds(header) == expected
