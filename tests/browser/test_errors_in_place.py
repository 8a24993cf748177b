"""Form errors answered to htmx (400) appear in place and styled, with DEBUG on and off."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_timeline_range_ending_before_it_starts_is_refused_in_place(page, run_settings):
    """A custom range whose end is before its start shows the error in the filter form."""
    page.goto("/traces/")
    page.get_by_label("From", exact=True).fill("2026-03-02T10:00")
    page.get_by_label("To", exact=True).fill("2026-03-01T10:00")
    page.get_by_role("button", name="Apply filters").click()
    page.locator("#timeline-filters .errorlist").first.wait_for()
    assert page.locator("header.topbar").is_visible()
    assert page.get_by_role("heading", name="Timeline").is_visible()
    # Still the app's stylesheet: the filter card keeps its styled border.
    assert page.locator("link[rel=stylesheet]").count() >= 1
    assert "Fix the filters" in page.locator("#timeline").inner_text()
    assert re.search(r"/traces/", page.url)
