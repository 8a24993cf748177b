"""prune_traces: old chains go whole, in batches; counts and search stay exact; archives load."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from decision_trace.exceptions import TraceValidationError
from decision_trace.values import TraceEvent
from decisioning.models import Decision, DecisionOutcome
from traces import DecisionTraceClient
from traces.counts import event_counts_differences
from traces.evidence.corrections import event_correct
from traces.evidence.models import LogEntry, PrunedEntry
from traces.evidence.sealing import seal_pending
from traces.models import EventRecord, EventSearchDocument, HourlyEventCount, TrackedObjectRecord
from traces.retention import retention_daily, retention_run_policies
from traces.search import search_events

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=500)


@pytest.fixture
def store() -> dict[str, str]:
    """Old chains (one with a young child, one reviewed), an old lone event, a young event."""
    client = DecisionTraceClient()
    ids = {}
    ids["old_root"] = (
        client.trace("order.created", "old zebra")
        .by_user("u1", "U")
        .affecting_order("o1")
        .at(OLD)
        .record()
    )
    ids["old_child"] = (
        client.trace("order.paid", "old child zebra")
        .child_of(ids["old_root"])
        .at(OLD + timedelta(hours=1))
        .record()
    )
    ids["mixed_root"] = client.trace("order.created", "mixed zebra").at(OLD).record()
    ids["young_child"] = (
        client.trace("order.paid").child_of(ids["mixed_root"]).at(NOW - timedelta(days=1)).record()
    )
    ids["reviewed"] = (
        client.trace("price.changed", "reviewed zebra")
        .because("margin")
        .requires_approval()
        .at(OLD)
        .record()
    )
    decision = Decision.objects.get(target_id=ids["reviewed"])
    decision.outcome = DecisionOutcome.APPROVED
    decision.save()
    EventRecord.objects.filter(pk=ids["reviewed"]).update(approval_status="approved")
    ids["old_price"] = client.trace("price.changed", "price zebra").at(OLD).record()
    ids["young"] = client.trace("order.created", "young zebra").at(NOW).record()
    return {name: str(value) for name, value in ids.items()}


def _stored() -> set[str]:
    return {str(pk) for pk in EventRecord.objects.values_list("pk", flat=True)}


def test_prune_deletes_whole_old_chains_and_keeps_counts_and_search_exact(store, capsys):
    call_command("prune_traces", "--older-than", "400d", "--batch-size", "1")
    assert _stored() == {
        store["mixed_root"],
        store["young_child"],
        store["reviewed"],
        store["young"],
    }
    assert event_counts_differences() == []
    assert set(map(str, search_events("zebra").values_list("pk", flat=True))) == {
        store["mixed_root"],
        store["reviewed"],
        store["young"],
    }
    assert EventSearchDocument.objects.count() == 4
    assert not TrackedObjectRecord.objects.filter(object_id="o1").exists()
    assert "Deleted 3 event(s) in 2 chain(s)" in capsys.readouterr().out


def test_dry_run_deletes_nothing_and_says_what_would_go(store, capsys):
    before = (_stored(), list(HourlyEventCount.objects.values_list("event_count", flat=True)))
    call_command("prune_traces", "--older-than", "400d", "--dry-run")
    assert (_stored(), list(HourlyEventCount.objects.values_list("event_count", flat=True))) == (
        before
    )
    assert "Would delete 3 event(s) in 2 chain(s)" in capsys.readouterr().out


def test_reviewed_chains_go_only_when_asked_and_event_type_narrows(store):
    call_command(
        "prune_traces", "--older-than", "400d", "--event-type", "price.*", "--no-keep-reviewed"
    )
    assert store["reviewed"] not in _stored()
    assert store["old_price"] not in _stored()
    assert store["old_root"] in _stored()
    assert not Decision.all_objects.filter(target_id=store["reviewed"]).exists()


def test_archive_holds_the_api_shape_and_re_imports(store, tmp_path):
    path = tmp_path / "pruned.jsonl.gz"
    call_command("prune_traces", "--older-than", "400d", "--archive", str(path))
    with gzip.open(path, "rt", encoding="utf-8") as archive:
        lines = [json.loads(line) for line in archive]
    assert [line["id"] for line in lines][:2] == [store["old_root"], store["old_child"]]
    assert {line["id"] for line in lines} == {
        store["old_root"],
        store["old_child"],
        store["old_price"],
    }
    assert all({"recorded_at", "approval"} <= set(line) for line in lines)
    DecisionTraceClient().record_many([TraceEvent.from_dict(line) for line in lines])
    assert {store["old_root"], store["old_child"], store["old_price"]} <= _stored()
    assert event_counts_differences() == []


def test_sealed_chains_are_pruned_as_retention_and_archived_as_corrected(store, tmp_path):
    """Through evidence's retention_delete: the log marks them pruned, verify_traces passes."""
    event_correct(
        event_id=store["old_price"],
        corrected_by="ops",
        reason="Typo",
        description="price corrected",
    )
    seal_pending()
    sealed = set(LogEntry.objects.values_list("key", flat=True))
    assert {store["old_root"], store["old_child"], store["old_price"]} <= sealed
    path = tmp_path / "pruned.jsonl.gz"
    call_command("prune_traces", "--older-than", "400d", "--archive", str(path))
    with gzip.open(path, "rt", encoding="utf-8") as archive:
        lines = {line["id"]: line for line in map(json.loads, archive)}
    assert lines[store["old_price"]]["data"]["description"] == "price corrected"
    pruned = PrunedEntry.objects.all()
    indexes = [entry.index for entry in pruned]
    assert set(LogEntry.objects.filter(index__in=indexes).values_list("key", flat=True)) >= {
        store["old_root"],
        store["old_child"],
        store["old_price"],
    }
    assert all(entry.reason.startswith("prune_traces: chains of * older than") for entry in pruned)
    call_command("verify_traces")


@override_settings(TRACES_RETENTION={"order.*": "400d", "price.*": "1000d"})
def test_policies_apply_each_family_its_age(store):
    call_command("prune_traces", "--policies")
    assert store["old_root"] not in _stored()
    assert store["old_price"] in _stored()


@override_settings(TRACES_RETENTION={"order.*": "400d", "price.*": "1000d"})
def test_the_policies_run_as_a_plain_function_for_a_periodic_task(store, tmp_path):
    path = tmp_path / "pruned.jsonl.gz"
    runs = retention_run_policies(archive_path=str(path))
    assert [(run.pattern, run.chains, run.events) for run in runs] == [
        ("order.*", 1, 2),
        ("price.*", 0, 0),
    ]
    assert runs[0].older >= 2
    assert store["old_root"] not in _stored()
    assert store["old_price"] in _stored()
    with gzip.open(path, "rt", encoding="utf-8") as archive:
        archived = [json.loads(line)["id"] for line in archive]
    assert archived == [store["old_root"], store["old_child"]]


def test_the_daily_run_archives_into_the_directory_and_answers_json(store, tmp_path, settings):
    """The worker's daily task: each rule's figures as JSON, the day's archive in the directory."""
    settings.TRACES_RETENTION = {"order.*": "400d"}
    settings.TRACES_RETENTION_ARCHIVE_DIR = str(tmp_path / "archives")
    result = retention_daily(now=NOW)
    day = timezone.localdate(NOW)
    path = tmp_path / "archives" / f"pruned-{day:%Y-%m-%d}.jsonl.gz"
    assert json.loads(json.dumps(result)) == result
    assert [(run["pattern"], run["chains"], run["events"], run["archive"]) for run in result] == [
        ("order.*", 1, 2, str(path))
    ]
    with gzip.open(path, "rt", encoding="utf-8") as archive:
        assert [json.loads(line)["id"] for line in archive] == [
            store["old_root"],
            store["old_child"],
        ]
    assert store["old_root"] not in _stored()
    assert store["reviewed"] in _stored()


@override_settings(TRACES_RETENTION={"order.*": "400d"}, TRACES_RETENTION_ARCHIVE_DIR="")
def test_the_daily_run_without_an_archive_directory_still_prunes(store):
    assert [run["archive"] for run in retention_daily(now=NOW)] == [None]
    assert store["old_root"] not in _stored()


def test_the_daily_run_is_a_periodic_task_of_the_worker(settings):
    spec = settings.TRACES_PERIODIC_TASKS["traces_retention"]
    assert spec["call"] == "traces.retention.retention_daily"
    assert "daily_at" in spec


@override_settings(TRACES_RETENTION={})
def test_the_policies_function_does_nothing_without_policies(store):
    before = _stored()
    assert retention_run_policies() == []
    assert _stored() == before


@override_settings(TRACES_RETENTION={"order.*": "soon"})
def test_the_policies_function_refuses_a_malformed_setting(store):
    before = _stored()
    with pytest.raises(TraceValidationError):
        retention_run_policies()
    assert _stored() == before


@pytest.mark.parametrize(
    "args",
    [
        ["--older-than", "400"],
        ["--older-than", "0d"],
        ["--older-than", "-3d"],
        ["--older-than", "4e2d"],
        ["--older-than", "400d\x00"],
        ["--older-than", "9" * 50 + "d"],
        ["--older-than", "400d", "--batch-size", "0"],
        ["--older-than", "400d", "--batch-size", "100000"],
        ["--policies"],
    ],
)
def test_bad_arguments_are_a_clear_error_and_nothing_is_deleted(store, args):
    before = _stored()
    with pytest.raises(CommandError):
        call_command("prune_traces", *args)
    assert _stored() == before
