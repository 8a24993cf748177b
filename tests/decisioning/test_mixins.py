"""TimeSemanticsMixin and EffectiveDatedMixin: the spec's tests plus the time rules."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from decisioning.exceptions import RECORDED_AT_READ_ONLY, RecordedAtReadOnlyError
from decisioning.mixins import (
    VALID_TO_NOT_AFTER_VALID_FROM,
    EffectiveDatedMixin,
    TimeSemanticsMixin,
)
from decisioning.querysets import EventAsOfQuerySet
from tests.testapp.models import Contract, PaymentEvent, PriceOverride

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class TestTimeSemanticsMixin:
    def test_effective_at_defaults_to_now(self):
        """Without a value, effective_at is the time of creation."""
        before = timezone.now()
        event = PaymentEvent.objects.create(amount=Decimal("5"))
        assert before <= event.effective_at <= timezone.now()
        assert timezone.is_aware(event.effective_at)

    def test_effective_at_can_be_backdated(self):
        """effective_at keeps a past value given by the caller."""
        last_month = timezone.now() - timedelta(days=30)
        event = PaymentEvent.objects.create(effective_at=last_month)
        assert PaymentEvent.objects.get(pk=event.pk).effective_at == last_month

    def test_recorded_at_auto_set(self):
        """recorded_at is set on insert to the system time."""
        before = timezone.now()
        event = PaymentEvent.objects.create()
        event.refresh_from_db()
        assert before <= event.recorded_at <= timezone.now()

    def test_recorded_at_not_editable(self):
        """Changing recorded_at and saving leaves the stored value alone."""
        event = PaymentEvent.objects.create()
        stored = PaymentEvent.objects.get(pk=event.pk).recorded_at
        event.recorded_at = stored - timedelta(days=365)
        event.amount = Decimal("7")
        event.save()
        event.refresh_from_db()
        assert event.recorded_at == stored
        assert event.amount == Decimal("7")
        assert PaymentEvent._meta.get_field("recorded_at").editable is False

    def test_effective_before_recorded(self):
        """A backdated event is effective before it was recorded."""
        event = PaymentEvent.objects.create(effective_at=timezone.now() - DAY)
        event.refresh_from_db()
        assert event.effective_at < event.recorded_at

    def test_effective_equals_recorded(self):
        """effective_at may equal recorded_at exactly."""
        event = PaymentEvent.objects.create()
        event.refresh_from_db()
        PaymentEvent.objects.filter(pk=event.pk).update(effective_at=event.recorded_at)
        event.refresh_from_db()
        assert event.effective_at == event.recorded_at
        assert list(PaymentEvent.objects.as_of(event.recorded_at)) == [event]

    def test_mixin_is_abstract(self):
        """The mixin has no table and cannot be instantiated."""
        assert TimeSemanticsMixin._meta.abstract is True
        with pytest.raises(TypeError, match="Abstract models cannot be instantiated"):
            TimeSemanticsMixin()

    def test_multiple_inheritance(self):
        """The mixin combines with EffectiveDatedMixin and a UUID key."""
        start = timezone.now() - DAY
        contract = Contract.objects.create(name="c", effective_at=start, valid_from=start)
        contract.refresh_from_db()
        assert contract.effective_at == start
        assert contract.recorded_at > start
        assert contract.is_active
        assert isinstance(contract.pk, uuid.UUID)
        assert {f.name for f in Contract._meta.concrete_fields} == {
            "id",
            "name",
            "effective_at",
            "recorded_at",
            "valid_from",
            "valid_to",
        }

    # additions: recorded_at is the system's word everywhere

    def test_recorded_at_ignored_on_create(self):
        """A recorded_at passed to create() is replaced by the system time."""
        fake = timezone.now() - timedelta(days=100)
        event = PaymentEvent.objects.create(recorded_at=fake)
        assert PaymentEvent.objects.get(pk=event.pk).recorded_at > fake

    def test_recorded_at_ignored_on_bulk_create(self):
        """bulk_create() also stamps recorded_at itself."""
        fake = timezone.now() - timedelta(days=100)
        PaymentEvent.objects.bulk_create([PaymentEvent(recorded_at=fake) for _ in range(3)])
        assert not PaymentEvent.objects.filter(recorded_at__lte=fake).exists()
        assert PaymentEvent.objects.count() == 3

    def test_recorded_at_ignored_in_update_fields(self):
        """save(update_fields=['recorded_at']) writes nothing to recorded_at."""
        event = PaymentEvent.objects.create()
        stored = PaymentEvent.objects.get(pk=event.pk).recorded_at
        event.recorded_at = stored - DAY
        event.save(update_fields=["recorded_at"])
        assert PaymentEvent.objects.get(pk=event.pk).recorded_at == stored

    def test_recorded_at_queryset_update_refused(self):
        """QuerySet.update(recorded_at=...) and bulk_update raise and write nothing."""
        event = PaymentEvent.objects.create()
        stored = PaymentEvent.objects.get(pk=event.pk).recorded_at
        with pytest.raises(RecordedAtReadOnlyError, match=RECORDED_AT_READ_ONLY):
            PaymentEvent.objects.update(recorded_at=stored - DAY)
        event.recorded_at = stored - DAY
        with pytest.raises(RecordedAtReadOnlyError):
            PaymentEvent.objects.bulk_update([event], ["recorded_at"])
        assert PaymentEvent.objects.get(pk=event.pk).recorded_at == stored

    def test_default_manager_is_guarded(self):
        """A model that declares no manager gets the guarded EventAsOfQuerySet one."""
        assert isinstance(Contract.objects.all(), EventAsOfQuerySet)
        Contract.objects.create(name="c")
        with pytest.raises(RecordedAtReadOnlyError):
            Contract.objects.update(recorded_at=timezone.now())


class TestEffectiveDatedMixin:
    def test_valid_from_defaults_to_now(self):
        """Without a value, valid_from is the time of creation."""
        before = timezone.now()
        price = PriceOverride.objects.create()
        assert before <= price.valid_from <= timezone.now()

    def test_valid_to_nullable(self):
        """valid_to may be empty: valid indefinitely."""
        price = PriceOverride.objects.create()
        assert PriceOverride.objects.get(pk=price.pk).valid_to is None
        assert price.is_active
        assert not price.is_expired

    def test_is_active_when_valid(self):
        """Active when valid_from has passed and valid_to has not."""
        now = timezone.now()
        assert PriceOverride(valid_from=now - HOUR, valid_to=now + HOUR).is_active

    def test_is_active_false_when_expired(self):
        """Not active once valid_to has passed."""
        now = timezone.now()
        assert not PriceOverride(valid_from=now - DAY, valid_to=now - HOUR).is_active

    def test_is_active_false_when_future(self):
        """Not active before valid_from."""
        assert not PriceOverride(valid_from=timezone.now() + HOUR).is_active

    def test_is_expired_when_past_valid_to(self):
        """Expired once valid_to is now or past."""
        now = timezone.now()
        assert PriceOverride(valid_from=now - DAY, valid_to=now - HOUR).is_expired
        assert not PriceOverride(valid_from=now - DAY, valid_to=now + HOUR).is_expired

    def test_is_expired_false_when_indefinite(self):
        """Never expired without valid_to."""
        assert not PriceOverride(valid_from=timezone.now() - timedelta(days=999)).is_expired

    def test_is_future_when_valid_from_ahead(self):
        """Future while valid_from is ahead."""
        assert PriceOverride(valid_from=timezone.now() + HOUR).is_future

    def test_is_future_false_when_started(self):
        """Not future once valid_from has passed."""
        assert not PriceOverride(valid_from=timezone.now() - HOUR).is_future

    def test_mixin_is_abstract(self):
        """The mixin has no table and cannot be instantiated."""
        assert EffectiveDatedMixin._meta.abstract is True
        with pytest.raises(TypeError, match="Abstract models cannot be instantiated"):
            EffectiveDatedMixin()

    # additions: clean() rule

    @pytest.mark.parametrize("offset", [timedelta(0), -timedelta(microseconds=1), -DAY])
    def test_clean_rejects_valid_to_not_after_valid_from(self, offset):
        """valid_to equal to or before valid_from is a validation error on valid_to."""
        start = timezone.now()
        price = PriceOverride(valid_from=start, valid_to=start + offset)
        with pytest.raises(ValidationError) as info:
            price.full_clean()
        assert info.value.message_dict == {"valid_to": [VALID_TO_NOT_AFTER_VALID_FROM]}
        assert PriceOverride.objects.count() == 0

    @pytest.mark.parametrize("valid_to", [None, timedelta(microseconds=1), DAY])
    def test_clean_accepts_open_or_later_valid_to(self, valid_to):
        """No valid_to, or any later valid_to, is clean."""
        start = timezone.now()
        PriceOverride(valid_from=start, valid_to=valid_to and start + valid_to).full_clean()

    def test_boundaries_are_half_open(self):
        """valid_from is inclusive and valid_to exclusive, in the properties too."""
        now = timezone.now()
        ended_now = PriceOverride(valid_from=now - DAY, valid_to=now)
        assert ended_now.is_expired
        assert not ended_now.is_active
