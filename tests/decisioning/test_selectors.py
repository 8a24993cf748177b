"""decision_targets: every target of a page of decisions, safely and in bulk."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from decisioning.models import Decision
from decisioning.selectors import decision_targets
from tests.testapp.models import Deletable, Identified, Order

pytestmark = pytest.mark.django_db


def test_decision_targets_one_query_per_model(django_assert_num_queries):
    """Targets of many decisions load with one query per target model."""
    orders = [Order.objects.create(number=str(i)) for i in range(5)]
    idents = [Identified.objects.create(name=str(i)) for i in range(3)]
    decisions = [Decision.objects.create(target=t, decision_type="t") for t in orders + idents]
    ContentType.objects.get_for_model(Order)
    ContentType.objects.get_for_model(Identified)
    with django_assert_num_queries(2):
        targets = decision_targets(decisions=decisions)
    assert [targets[d.pk] for d in decisions] == orders + idents


def test_decision_targets_bad_or_missing_targets_are_none():
    """Unparseable ids, deleted rows and vanished models give None; soft-deleted rows load."""
    order_type = ContentType.objects.get_for_model(Order)
    stale = ContentType.objects.create(app_label="gone", model="vanished")
    soft = Deletable.objects.create(name="soft")
    soft.delete()
    decisions = [
        Decision.objects.create(target_content_type=order_type, target_id="abc", decision_type="t"),
        Decision.objects.create(
            target_content_type=order_type, target_id="10" * 20, decision_type="t"
        ),
        Decision.objects.create(
            target_content_type=order_type, target_id="424242", decision_type="t"
        ),
        Decision.objects.create(target_content_type=stale, target_id="1", decision_type="t"),
        Decision.objects.create(target=soft, decision_type="t"),
    ]
    targets = decision_targets(decisions=decisions)
    assert [targets[d.pk] for d in decisions] == [None, None, None, None, soft]


def test_decision_targets_empty():
    """No decisions, no queries, no targets."""
    assert decision_targets(decisions=[]) == {}
