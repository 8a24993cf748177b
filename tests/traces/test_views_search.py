"""Issue 16 point 6 at the timeline: counts, highlighted snippets, syntax, order, hostile text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.traces.test_search import HOSTILE
from traces import DecisionTraceClient

pytestmark = pytest.mark.django_db

TIMELINE = reverse("traces:timeline")


@pytest.fixture
def events():
    client = DecisionTraceClient()
    weak = client.trace("note.added", "A note about a refund").at(timezone.now()).record()
    strong = (
        client.trace("refund.denied", "Refund denied")
        .because(
            "Refund refused: the refund window closed",
            rejection_reasons={"full_refund": "refund outside the window"},
        )
        .at(timezone.now() - timedelta(hours=1))
        .record()
    )
    return weak, strong


def test_search_shows_count_and_highlighted_snippets(admin_client, events):
    """How many matched, and where each row matched, with the words marked."""
    html = admin_client.get(TIMELINE, {"q": "window"}).content.decode()
    assert "<strong>1</strong> event contains these words" in html
    assert "Matched in reasoning" in html
    assert "<mark>window</mark>" in html


def test_search_best_match_order(admin_client, events):
    """Best match puts the event with the most matches first; newest first is the default."""
    weak, strong = events
    newest = admin_client.get(TIMELINE, {"q": "refund"}).context["page"].items
    assert [str(e.pk) for e in newest] == [weak, strong]
    best = admin_client.get(TIMELINE, {"q": "refund", "sort": "best"})
    assert [str(e.pk) for e in best.context["page"].items] == [strong, weak]
    assert "Ordered by how well each event matches" in best.content.decode()
    assert admin_client.get(TIMELINE, {"q": "refund", "sort": "worst"}).status_code == 400


@pytest.mark.parametrize("text", [t for t in HOSTILE if "\x00" not in t and len(t) <= 200])
@pytest.mark.parametrize("sort", ["newest", "best"])
def test_hostile_search_syntax_keeps_answering_200(admin_client, events, text, sort):
    """Unbalanced quotes, stray operators, wildcards and symbols: 200, never a 500."""
    response = admin_client.get(TIMELINE, {"q": text or "x", "sort": sort})
    assert response.status_code == 200
