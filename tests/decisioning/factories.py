"""factory_boy factories for users and Decision records (use ``.build()`` when no DB is needed)."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from decisioning.models import Decision, DecisionOutcome
from tests.testapp.models import Order

PASSWORD = "pw-review-123"


class UserFactory(factory.django.DjangoModelFactory):
    """A user; ``groups=["Admins"]`` puts them in review groups by name (they must exist)."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)
    is_staff = True

    @factory.post_generation
    def groups(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"A-{n}")


class DecisionFactory(factory.django.DjangoModelFactory):
    """A pending decision about an Order."""

    class Meta:
        model = Decision

    target = factory.SubFactory(OrderFactory)
    decision_type = "refund_approval"
    outcome = DecisionOutcome.PENDING
    reason = "Proposed by the refund agent"
