"""W3C traceparent: inject in one service, extract in the next, the chain continues."""

from __future__ import annotations

import re

import pytest

from decision_trace import DecisionTraceClient, TraceContext

TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01")


@pytest.fixture
def checkout(server):
    return DecisionTraceClient(server.url, server.token, backoff=0.01)


@pytest.fixture
def payment(server):
    return DecisionTraceClient(server.url, server.token, backoff=0.01)


def test_chain_continues_in_the_next_service(server, checkout, payment):
    """Checkout injects its event; payment's events become its children, same correlation."""
    started = checkout.trace("checkout.started").with_correlation("ord-42").record()
    headers: dict[str, str] = {}
    checkout.inject(headers, event_id=started, correlation_id="ord-42")
    assert TRACEPARENT.fullmatch(headers["traceparent"])
    assert headers["traceparent"][36:52] == started.replace("-", "")[16:]

    with payment.extract(headers) as context:
        assert context == TraceContext("ord-42", started)
        captured = payment.trace("payment.captured").record()
    later = payment.trace("payment.settled").record()

    data = server.events[captured]["data"]
    assert (data["parent_event_id"], data["correlation_id"]) == (started, "ord-42")
    assert server.events[later]["data"]["parent_event_id"] is None


def test_inject_inside_extracted_context_passes_it_on(checkout):
    """A service that continues a context passes the same one on to the next."""
    incoming: dict[str, str] = {}
    checkout.inject(incoming, event_id="0190b8e4-1111-7000-8000-000000000001", correlation_id="c")
    outgoing: dict[str, str] = {}
    with checkout.extract(incoming):
        checkout.inject(outgoing)
    assert checkout.extract(outgoing) == checkout.extract(incoming)


def test_inject_names_the_open_span(checkout):
    with checkout.span("checkout.run") as span:
        headers: dict[str, str] = {}
        checkout.inject(headers)
    assert checkout.extract(headers).parent_event_id == span.event_id


def test_hex_correlation_id_is_the_trace_id(checkout):
    correlation = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers: dict[str, str] = {}
    checkout.inject(headers, correlation_id=correlation)
    assert headers["traceparent"].split("-")[1] == correlation


def test_foreign_traceparent_gives_the_correlation_only(checkout):
    """A traceparent from another system (no tracestate of ours): trace id as correlation."""
    headers = {
        "Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": "vendor=abc",
    }
    assert checkout.extract(headers) == TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", None)


def test_inject_keeps_other_vendors_tracestate(checkout):
    headers = {"tracestate": "vendor=abc,dt=stale"}
    checkout.inject(headers, event_id="0190b8e4-1111-7000-8000-000000000001")
    assert headers["tracestate"].startswith("dt=0190b8e411117000800000000000000")
    assert headers["tracestate"].endswith(",vendor=abc")
    assert headers["tracestate"].count("dt=") == 1


@pytest.mark.parametrize(
    "traceparent",
    [
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4BF92F3577B34DA6A3CE929D0E0E473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\x00",
        "00-\ud800" + "a" * 31 + "-00f067aa0ba902b7-01",
        "x" * 10_000,
    ],
)
def test_malformed_traceparent_is_ignored(checkout, traceparent):
    """Hostile or malformed headers give an empty context, never an error."""
    assert checkout.extract({"traceparent": traceparent}) == TraceContext()


@pytest.mark.parametrize(
    "tracestate",
    [
        "dt=not-hex",
        "dt=" + "a" * 32,  # does not match the traceparent's parent id
        "dtc=%%%",
        "dtc=" + "QQ" * 300,
        "dtc=AA",  # decodes to NUL
    ],
)
def test_forged_tracestate_is_not_trusted(checkout, tracestate):
    headers = {
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": tracestate,
    }
    context = checkout.extract(headers)
    assert context.parent_event_id is None
    assert context.correlation_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_context_not_from_extract_cannot_be_entered():
    with pytest.raises(RuntimeError, match="extract"), TraceContext("c", None):
        pass
