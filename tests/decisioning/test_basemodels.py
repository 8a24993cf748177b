"""The in-project ``django_basemodels`` layer: timestamps, UUID keys, soft delete."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, models, transaction

from decisioning.basemodels import (
    BaseModel,
    SoftDeleteManager,
    SoftDeleteModel,
    TimeStampedModel,
    UUIDModel,
)
from tests.testapp.models import Article, Deletable, Document, Identified, Stamped

pytestmark = pytest.mark.django_db


def test_timestamps_created_at_set_once():
    """created_at is set on insert and never moves on later saves."""
    row = Stamped.objects.create(name="a")
    created = row.created_at
    assert created is not None
    row.name = "b"
    row.save()
    row.refresh_from_db()
    assert row.created_at == created


def test_timestamps_updated_at_moves_on_save():
    """updated_at advances on every save."""
    row = Stamped.objects.create(name="a")
    first = row.updated_at
    row.save()
    assert row.updated_at > first
    assert row.created_at <= first


def test_timestamps_are_timezone_aware():
    """Both stamps are aware datetimes."""
    row = Stamped.objects.create(name="a")
    row.refresh_from_db()
    assert row.created_at.tzinfo is not None
    assert row.updated_at.tzinfo is not None


def test_uuid_pk_generated_before_first_save():
    """The pk exists as a UUID4 before the row is written."""
    row = Identified(name="a")
    assert isinstance(row.pk, uuid.UUID)
    assert row.pk.version == 4
    pk = row.pk
    row.save()
    assert Identified.objects.get(pk=pk).name == "a"


def test_uuid_pk_unique_per_instance():
    """Every instance gets its own key."""
    keys = {Identified(name=str(i)).pk for i in range(200)}
    assert len(keys) == 200


def test_uuid_pk_not_editable():
    """The pk is not offered to forms or the admin."""
    assert Identified._meta.get_field("id").editable is False
    assert Identified._meta.pk.name == "id"


def test_soft_delete_objects_excludes_deleted_rows():
    """objects hides deleted rows, in iteration and in count()."""
    keep = Deletable.objects.create(name="keep")
    gone = Deletable.objects.create(name="gone")
    gone.delete()
    assert list(Deletable.objects.all()) == [keep]
    assert Deletable.objects.count() == 1
    assert not Deletable.objects.filter(pk=gone.pk).exists()


def test_soft_delete_with_deleted_and_deleted_only():
    """with_deleted() shows every row, deleted_only() only the deleted ones."""
    keep = Deletable.objects.create(name="keep")
    gone = Deletable.objects.create(name="gone")
    gone.delete()
    assert set(Deletable.objects.with_deleted()) == {keep, gone}
    assert list(Deletable.objects.deleted_only()) == [gone]
    assert set(Deletable.all_objects.all()) == {keep, gone}


def test_soft_delete_delete_keeps_row():
    """delete() sets deleted_at and the row stays in the table."""
    row = Deletable.objects.create(name="a")
    assert row.is_deleted is False
    count, per_model = row.delete()
    assert (count, per_model) == (1, {"testapp.Deletable": 1})
    assert row.is_deleted is True
    stored = Deletable.all_objects.get(pk=row.pk)
    assert stored.deleted_at is not None
    assert stored.is_deleted is True


def test_soft_delete_twice_is_a_no_op():
    """Deleting an already deleted row changes nothing and reports 0."""
    row = Deletable.objects.create(name="a")
    row.delete()
    first = Deletable.all_objects.get(pk=row.pk).deleted_at
    assert row.delete() == (0, {})
    assert Deletable.all_objects.get(pk=row.pk).deleted_at == first


def test_soft_delete_hard_delete_removes_row():
    """hard_delete() removes the row for good."""
    row = Deletable.objects.create(name="a")
    row.hard_delete()
    assert not Deletable.all_objects.filter(pk=row.pk).exists()


def test_soft_delete_restore_brings_row_back():
    """restore() returns a deleted row to objects."""
    row = Deletable.objects.create(name="a")
    row.delete()
    row.restore()
    assert row.is_deleted is False
    assert Deletable.objects.filter(pk=row.pk).exists()


def test_queryset_delete_is_a_hard_delete():
    """The documented gotcha: QuerySet.delete() removes rows, not soft-deletes them."""
    Deletable.objects.create(name="a")
    Deletable.objects.create(name="b")
    Deletable.objects.all().delete()
    assert Deletable.all_objects.count() == 0


def test_queryset_soft_delete_is_one_update(django_assert_num_queries):
    """QuerySet.soft_delete() marks every matching row in one statement and keeps them."""
    for name in "abc":
        Deletable.objects.create(name=name)
    with django_assert_num_queries(1):
        changed = Deletable.objects.filter(name__in=["a", "b"]).soft_delete()
    assert changed == 2
    assert Deletable.objects.count() == 1
    assert Deletable.all_objects.count() == 3


def test_queryset_restore_brings_rows_back():
    """QuerySet.restore() undoes a bulk soft delete."""
    for name in "ab":
        Deletable.objects.create(name=name)
    Deletable.objects.all().soft_delete()
    assert Deletable.all_objects.all().restore() == 2
    assert Deletable.objects.count() == 2


def test_base_model_has_timestamps_and_soft_delete():
    """BaseModel combines both, and its default manager hides deleted rows."""
    row = Article.objects.create(slug="x")
    assert row.created_at is not None
    assert row.updated_at is not None
    assert isinstance(Article._default_manager, SoftDeleteManager)
    before = row.updated_at
    row.delete()
    assert Article.objects.count() == 0
    assert Article.all_objects.get(pk=row.pk).updated_at >= before


def test_uuid_and_base_model_combined():
    """A model can have a UUID key, timestamps and soft delete at once."""
    doc = Document.objects.create(title="t")
    assert isinstance(doc.pk, uuid.UUID)
    doc.delete()
    assert Document.objects.count() == 0
    assert Document.all_objects.get(pk=doc.pk).is_deleted


def test_conditional_unique_constraint_ignores_deleted_rows():
    """A deleted row's slug can be reused; two live rows cannot share it."""
    first = Article.objects.create(slug="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.create(slug="dup")
    first.delete()
    second = Article.objects.create(slug="dup")
    assert Article.objects.get(slug="dup") == second
    assert Article.all_objects.filter(slug="dup").count() == 2


@pytest.mark.parametrize(
    "base", [TimeStampedModel, UUIDModel, SoftDeleteModel, BaseModel], ids=lambda b: b.__name__
)
def test_base_classes_are_abstract(base):
    """No base class has a table of its own."""
    assert base._meta.abstract is True


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (Stamped, {"id", "name", "created_at", "updated_at"}),
        (Identified, {"id", "name"}),
        (Deletable, {"id", "name", "deleted_at"}),
        (Article, {"id", "slug", "created_at", "updated_at", "deleted_at"}),
        (Document, {"id", "title", "created_at", "updated_at", "deleted_at"}),
    ],
    ids=lambda m: getattr(m, "__name__", ""),
)
def test_concrete_subclasses_get_expected_columns(model: type[models.Model], fields: set[str]):
    """Concrete subclasses get a table with exactly the inherited and own columns."""
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, model._meta.db_table)
    assert {column.name for column in description} == fields
