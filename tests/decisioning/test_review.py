"""decision_transition and review_groups_ensure (the review half of services.py)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.utils import timezone

from decisioning.choices import DecisionAction, DecisionOutcome
from decisioning.exceptions import (
    ALREADY_DECIDED,
    DECISION_DELETED,
    DECISION_MISSING,
    NAIVE_DATETIME,
    NOT_A_DATETIME,
    PERMISSION_ANONYMOUS,
    PERMISSION_INACTIVE,
    PERMISSION_MISSING,
    PERMISSION_NONE,
    REASON_HAS_NUL,
    REASON_NOT_STRING,
    REASON_REQUIRED,
    REASON_TOO_LONG,
    REQUEST_TOKEN_INVALID,
    TRANSITION_NOT_ALLOWED,
    DecisionAlreadyDecidedError,
    DecisionDeletedError,
    DecisionPermissionError,
    InvalidActionError,
    InvalidReasonError,
    InvalidRequestTokenError,
    InvalidTimeError,
    InvalidTransitionError,
    ReasonRequiredError,
    ReasonTooLongError,
)
from decisioning.models import (
    REASON_MAX_LENGTH,
    REQUEST_TOKEN_MAX_LENGTH,
    Decision,
    DecisionTransition,
    IdempotencyKey,
    IdempotencyStatus,
)
from decisioning.permissions import (
    APPROVE_DECISION,
    DECIDE_ESCALATED_DECISION,
    REVIEW_GROUPS,
)
from decisioning.review import (
    decision_request_key,
    decision_request_token_new,
    decision_transition,
    review_groups_ensure,
)
from decisioning.transitions import transition_target
from tests.decisioning.factories import DecisionFactory, UserFactory
from tests.subprocess_report import run_for_report

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 15, 30, tzinfo=UTC)
OUT, ACT = DecisionOutcome, DecisionAction
MATRIX = [(outcome, action) for outcome in OUT for action in ACT]
TARGETS = {
    ACT.APPROVE: OUT.APPROVED,
    ACT.REJECT: OUT.REJECTED,
    ACT.DEFER: OUT.DEFERRED,
    ACT.ESCALATE: OUT.ESCALATED,
    ACT.REOPEN: OUT.PENDING,
}
HOSTILE = [
    '<script>alert("x")</script>',
    "'; DROP TABLE decisioning_decision; --",
    "☃ 🚀 \u202e",
    "%_\\",
]


def _state(decision: Decision) -> tuple:
    """Everything a refused action must leave alone."""
    row = Decision.all_objects.get(pk=decision.pk)
    return (
        row.outcome,
        row.reason,
        row.decided_by_id,
        row.decided_at,
        row.updated_at,
        DecisionTransition.objects.filter(decision=row).count(),
        IdempotencyKey.objects.count(),
    )


def _act(decision, action, user, **kwargs):
    kwargs.setdefault("reason", "Because")
    return decision_transition(decision=decision, action=action, user=user, **kwargs)


# The state machine, through the service


@pytest.mark.parametrize(("from_outcome", "action"), MATRIX)
def test_transition_every_pair_changes_or_refuses(senior, from_outcome, action):
    """Allowed pairs change outcome, decider, time, reason and history; others change nothing."""
    decision = DecisionFactory(outcome=from_outcome)
    before = _state(decision)
    to_outcome = transition_target(from_outcome=from_outcome, action=action)
    if to_outcome is None:
        with pytest.raises(InvalidTransitionError) as info:
            _act(decision, action, senior, now=NOW)
        assert (info.value.from_outcome, info.value.to_outcome) == (from_outcome, TARGETS[action])
        assert info.value.action == action
        assert info.value.decision_id == decision.pk
        assert _state(decision) == before
        return
    result = _act(decision, action, senior, now=NOW, reason="  Checked the order  ")
    row = Decision.objects.get(pk=decision.pk)
    assert (row.outcome, row.reason, row.decided_by, row.decided_at) == (
        to_outcome,
        "Checked the order",
        senior,
        NOW,
    )
    assert result.decision == row
    assert result.decision.outcome == to_outcome
    assert not result.replayed
    step = DecisionTransition.objects.get(decision=row)
    assert step == result.transition
    assert (step.action, step.from_outcome, step.to_outcome) == (action, from_outcome, to_outcome)
    assert (step.by, step.by_username, step.reason, step.at, step.request_token) == (
        senior,
        "sam",
        "Checked the order",
        NOW,
        "",
    )
    assert decision.outcome == from_outcome, "the instance passed in is left as it was"


@pytest.mark.parametrize(
    ("from_outcome", "action", "allowed"),
    [
        (OUT.PENDING, ACT.REOPEN, "approve, reject, defer or escalate"),
        (OUT.ESCALATED, ACT.DEFER, "approve or reject"),
        (OUT.ESCALATED, ACT.ESCALATE, "approve or reject"),
        (OUT.ESCALATED, ACT.REOPEN, "approve or reject"),
        (OUT.DEFERRED, ACT.DEFER, "approve, reject, escalate or reopen"),
    ],
)
def test_transition_refused_message_names_what_is_allowed(senior, from_outcome, action, allowed):
    """A refused non-final transition says what the outcome allows instead."""
    decision = DecisionFactory(outcome=from_outcome)
    with pytest.raises(InvalidTransitionError) as info:
        _act(decision, action, senior)
    assert not isinstance(info.value, DecisionAlreadyDecidedError)
    assert str(info.value) == TRANSITION_NOT_ALLOWED.format(
        action=action, from_outcome=from_outcome, allowed=allowed
    )


def test_transition_unknown_outcome_allows_nothing(senior):
    """A row with an outcome outside the choices is refused, with a clear message."""
    decision = DecisionFactory()
    Decision.objects.filter(pk=decision.pk).update(outcome="archived")
    decision.outcome = "archived"
    with pytest.raises(InvalidTransitionError) as info:
        _act(decision, ACT.APPROVE, senior)
    assert str(info.value).endswith("you can do nothing.")


@pytest.mark.parametrize("outcome", [OUT.APPROVED, OUT.REJECTED])
@pytest.mark.parametrize("action", list(ACT))
def test_transition_final_outcome_says_who_decided(senior, outcome, action):
    """A final decision made without the workflow: "Already approved by the system at ..."."""
    decision = DecisionFactory(outcome=outcome)
    with pytest.raises(DecisionAlreadyDecidedError) as info:
        _act(decision, action, senior)
    when = decision.updated_at
    assert str(info.value) == ALREADY_DECIDED.format(
        what=outcome, who="the system", when=when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    assert (info.value.decided_by, info.value.decided_at) == (None, when)


def test_transition_final_outcome_with_decider_but_no_history(senior, admin):
    """decided_by and decided_at set directly are used when there is no history."""
    decision = DecisionFactory(outcome=OUT.REJECTED, decided_by=admin, decided_at=NOW)
    with pytest.raises(DecisionAlreadyDecidedError, match=r"^Already rejected by alice at"):
        _act(decision, ACT.APPROVE, senior)


@pytest.mark.parametrize("action", [ACT.APPROVE, "approve"])
def test_transition_accepts_action_member_or_value(admin, action):
    """The action may be the enum member or its string value."""
    result = _act(DecisionFactory(), action, admin)
    assert result.transition.action == ACT.APPROVE


@pytest.mark.parametrize("action", ["", "approved", "delete", None, 3, "x" * 5000, "<script>"])
def test_transition_unknown_action_changes_nothing(admin, action):
    """Wrong, missing, huge and hostile actions raise InvalidActionError."""
    decision = DecisionFactory()
    before = _state(decision)
    with pytest.raises(InvalidActionError):
        _act(decision, action, admin)
    assert _state(decision) == before


# Reasons


@pytest.mark.parametrize("action", [ACT.REJECT, ACT.ESCALATE])
@pytest.mark.parametrize("reason", ["", " ", "\n\t  ", None])
def test_transition_reject_and_escalate_require_a_reason(senior, action, reason):
    """A blank, whitespace-only or missing reason is refused for reject and escalate."""
    decision = DecisionFactory()
    before = _state(decision)
    kwargs = {} if reason is None else {"reason": reason}
    with pytest.raises(ReasonRequiredError) as info:
        decision_transition(decision=decision, action=action, user=senior, **kwargs)
    assert str(info.value) == REASON_REQUIRED.format(action=action)
    assert isinstance(info.value, ValueError)
    assert _state(decision) == before


@pytest.mark.parametrize(
    ("from_outcome", "action"),
    [(OUT.PENDING, ACT.APPROVE), (OUT.PENDING, ACT.DEFER), (OUT.DEFERRED, ACT.REOPEN)],
)
def test_transition_approve_defer_reopen_accept_no_reason(admin, from_outcome, action):
    """Approve, defer and reopen work without a reason; the old reason is replaced by ""."""
    decision = DecisionFactory(outcome=from_outcome)
    result = decision_transition(decision=decision, action=action, user=admin)
    assert result.decision.reason == ""
    assert result.transition.reason == ""


@pytest.mark.parametrize("action", list(ACT))
def test_transition_huge_reason_is_refused(senior, action):
    """A reason over REASON_MAX_LENGTH is refused for every action, before any write."""
    decision = DecisionFactory(outcome=OUT.DEFERRED)
    before = _state(decision)
    reason = "x" * (REASON_MAX_LENGTH + 1)
    with pytest.raises(ReasonTooLongError) as info:
        _act(decision, action, senior, reason=reason)
    assert str(info.value) == REASON_TOO_LONG.format(
        length=REASON_MAX_LENGTH + 1, limit=REASON_MAX_LENGTH
    )
    assert _state(decision) == before


def test_transition_reason_at_the_limit_is_stored(admin):
    """A reason of exactly REASON_MAX_LENGTH characters is fine."""
    reason = "y" * REASON_MAX_LENGTH
    result = _act(DecisionFactory(), ACT.REJECT, admin, reason=reason)
    assert Decision.objects.get(pk=result.decision.pk).reason == reason


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (None, REASON_NOT_STRING.format(type_name="NoneType")),
        (42, REASON_NOT_STRING.format(type_name="int")),
        (b"bytes", REASON_NOT_STRING.format(type_name="bytes")),
        ("a\x00b", REASON_HAS_NUL),
    ],
)
def test_transition_reason_of_wrong_type_or_with_nul_is_refused(admin, reason, message):
    """Only a str without NUL is a reason."""
    decision = DecisionFactory()
    before = _state(decision)
    with pytest.raises(InvalidReasonError) as info:
        _act(decision, ACT.APPROVE, admin, reason=reason)
    assert str(info.value) == message
    assert _state(decision) == before


@pytest.mark.parametrize("reason", HOSTILE)
def test_transition_hostile_reason_is_stored_verbatim(admin, reason):
    """Markup, SQL and odd Unicode are stored exactly as given, on the decision and in history."""
    result = _act(DecisionFactory(), ACT.REJECT, admin, reason=reason)
    assert Decision.objects.get(pk=result.decision.pk).reason == reason
    assert DecisionTransition.objects.get().reason == reason


# Permissions

CASES = [
    (OUT.PENDING, ACT.APPROVE),
    (OUT.PENDING, ACT.REJECT),
    (OUT.PENDING, ACT.DEFER),
    (OUT.PENDING, ACT.ESCALATE),
    (OUT.DEFERRED, ACT.REOPEN),
    (OUT.DEFERRED, ACT.APPROVE),
    (OUT.DEFERRED, ACT.ESCALATE),
    (OUT.ESCALATED, ACT.APPROVE),
    (OUT.ESCALATED, ACT.REJECT),
]


def _expected_refusal(role, from_outcome, action):
    if role == "anonymous":
        return PERMISSION_ANONYMOUS
    if role == "reviewer":
        return PERMISSION_NONE
    if role == "admin" and from_outcome == OUT.ESCALATED:
        return PERMISSION_MISSING.format(action=action, from_outcome=from_outcome)
    return None


@pytest.mark.parametrize("role", ["anonymous", "reviewer", "admin", "senior", "superuser"])
@pytest.mark.parametrize(("from_outcome", "action"), CASES)
def test_transition_permission_matrix(make_user, role, from_outcome, action):
    """Anonymous and reviewers may do nothing, admins all but escalated items, seniors all."""
    user = make_user(role)
    decision = DecisionFactory(outcome=from_outcome)
    before = _state(decision)
    refusal = _expected_refusal(role, from_outcome, action)
    if refusal is None:
        result = _act(decision, action, user)
        assert result.decision.outcome == transition_target(
            from_outcome=from_outcome, action=action
        )
        return
    with pytest.raises(DecisionPermissionError) as info:
        _act(decision, action, user)
    assert str(info.value) == refusal
    assert _state(decision) == before


def test_transition_permission_error_is_permission_denied(make_user):
    """DecisionPermissionError is Django's PermissionDenied (a 403) and names the permission."""
    from django.core.exceptions import PermissionDenied

    admin = make_user("admin")
    with pytest.raises(PermissionDenied) as info:
        _act(DecisionFactory(outcome=OUT.ESCALATED), ACT.APPROVE, admin)
    assert info.value.permission == DECIDE_ESCALATED_DECISION


def test_transition_user_none_is_anonymous():
    """No user at all is refused like an anonymous one."""
    with pytest.raises(DecisionPermissionError, match=PERMISSION_ANONYMOUS):
        _act(DecisionFactory(), ACT.APPROVE, None)


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_transition_inactive_user_is_refused(make_user, role):
    """An inactive account, even a superuser, cannot review."""
    user = make_user(role)
    user.is_active = False
    user.save()
    decision = DecisionFactory()
    before = _state(decision)
    with pytest.raises(DecisionPermissionError, match=PERMISSION_INACTIVE):
        _act(decision, ACT.APPROVE, user)
    assert _state(decision) == before


def test_transition_single_permission_allows_only_its_actions(review_groups):
    """A user holding only escalate_decision can escalate but not approve."""
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="escalate_decision"))
    with pytest.raises(DecisionPermissionError) as info:
        _act(DecisionFactory(), ACT.APPROVE, user)
    assert info.value.permission == APPROVE_DECISION
    assert _act(DecisionFactory(), ACT.ESCALATE, user).decision.outcome == OUT.ESCALATED


# Concurrency without threads: a stale copy, a deleted row


def test_transition_on_stale_copy_says_who_won(admin, senior):
    """Acting on a copy read before someone else's change: "Already approved by alice at ..."."""
    decision = DecisionFactory()
    _act(decision, ACT.APPROVE, admin, now=NOW)
    before = _state(decision)
    with pytest.raises(DecisionAlreadyDecidedError) as info:
        _act(decision, ACT.REJECT, senior)
    assert str(info.value) == "Already approved by alice at 2026-11-23 10:15 UTC."
    assert (info.value.decided_by, info.value.decided_at) == ("alice", NOW)
    assert (info.value.from_outcome, info.value.to_outcome) == (OUT.APPROVED, OUT.REJECTED)
    assert _state(decision) == before


@pytest.mark.parametrize(
    ("expected_outcome", "expected_decided_at"),
    [(OUT.DEFERRED, None), (OUT.PENDING, NOW), (OUT.APPROVED, None)],
)
def test_transition_expected_state_that_is_not_current_changes_nothing(
    admin, expected_outcome, expected_decided_at
):
    """The state the reviewer saw (``expected_*``) is what must still hold, not the instance's."""
    decision = DecisionFactory()
    before = _state(decision)
    with pytest.raises(DecisionAlreadyDecidedError):
        _act(
            decision,
            ACT.APPROVE,
            admin,
            expected_outcome=expected_outcome,
            expected_decided_at=expected_decided_at,
        )
    assert _state(decision) == before


def test_transition_expected_state_that_holds_applies(admin):
    """A fresh instance with the seen state given explicitly acts like the seen copy would."""
    decision = DecisionFactory()
    result = _act(
        Decision.objects.get(pk=decision.pk),
        ACT.APPROVE,
        admin,
        expected_outcome=OUT.PENDING,
        expected_decided_at=None,
    )
    assert result.decision.outcome == OUT.APPROVED


@pytest.mark.parametrize(
    ("steps", "what"), [([ACT.DEFER], "deferred"), ([ACT.DEFER, ACT.REOPEN], "reopened")]
)
def test_transition_on_stale_copy_of_non_final_decision(admin, senior, steps, what):
    """A change the reviewer did not see, even one back to pending, makes their action lose."""
    decision = DecisionFactory()
    current = decision
    for step in steps:
        current = _act(current, step, admin, now=NOW).decision
    with pytest.raises(DecisionAlreadyDecidedError) as info:
        _act(decision, ACT.APPROVE, senior)
    assert str(info.value) == f"Already {what} by alice at 2026-11-23 10:15 UTC."


def test_transition_winner_username_survives_user_deletion(admin, senior):
    """Who decided comes from the history's username snapshot."""
    decision = DecisionFactory()
    _act(decision, ACT.APPROVE, admin, now=NOW)
    admin.delete()
    with pytest.raises(DecisionAlreadyDecidedError, match=r"^Already approved by alice"):
        _act(decision, ACT.REJECT, senior)
    assert DecisionTransition.objects.get().by is None


def test_transition_fresh_copy_after_change_proceeds(admin, senior):
    """The result's decision is current, so it can be acted on next."""
    first = _act(DecisionFactory(), ACT.ESCALATE, admin)
    second = _act(first.decision, ACT.APPROVE, senior)
    assert second.decision.outcome == OUT.APPROVED


def test_transition_deleted_decision_is_refused(admin):
    """A soft-deleted decision cannot be reviewed; it stays deleted and pending."""
    decision = DecisionFactory()
    decision.delete()
    before = _state(decision)
    with pytest.raises(DecisionDeletedError) as info:
        _act(decision, ACT.APPROVE, admin)
    assert str(info.value) == DECISION_DELETED.format(decision_id=decision.pk)
    assert _state(decision) == before


def test_transition_missing_or_unsaved_decision_is_refused(admin):
    """An unsaved decision, or one whose row is gone, is refused."""
    with pytest.raises(DecisionDeletedError, match="does not exist"):
        _act(DecisionFactory.build(), ACT.APPROVE, admin)
    gone = DecisionFactory()
    Decision.all_objects.filter(pk=gone.pk).delete()
    with pytest.raises(DecisionDeletedError) as info:
        _act(gone, ACT.APPROVE, admin)
    assert str(info.value) == DECISION_MISSING.format(decision_id=gone.pk)


def test_transition_history_protects_decision_from_hard_delete(admin):
    """A reviewed decision cannot be hard-deleted by accident; soft delete still works."""
    from django.db.models import ProtectedError

    decision = _act(DecisionFactory(), ACT.APPROVE, admin).decision
    with pytest.raises(ProtectedError):
        decision.hard_delete()
    decision.delete()
    assert Decision.all_objects.get(pk=decision.pk).is_deleted


# Time


def test_transition_default_now_is_the_current_time(admin):
    """Without now=, decided_at and the history time are timezone.now()."""
    before = timezone.now()
    result = _act(DecisionFactory(), ACT.APPROVE, admin)
    assert before <= result.decision.decided_at <= timezone.now()
    assert result.transition.at == result.decision.decided_at


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (datetime(2026, 1, 1), NAIVE_DATETIME.format(name="now")),  # noqa: DTZ001 - refused
        ("2026-01-01", NOT_A_DATETIME.format(name="now", type_name="str")),
    ],
)
def test_transition_bad_now_is_refused(admin, now, message):
    """now must be an aware datetime."""
    decision = DecisionFactory()
    with pytest.raises(InvalidTimeError) as info:
        _act(decision, ACT.APPROVE, admin, now=now)
    assert str(info.value) == message


# History


def test_transition_history_records_every_step(admin, senior):
    """Each step writes one row; the decision keeps the last decider and time."""
    decision = DecisionFactory()
    steps = [
        (ACT.DEFER, admin, "Waiting for stock"),
        (ACT.REOPEN, admin, ""),
        (ACT.ESCALATE, admin, "Over the limit"),
        (ACT.APPROVE, senior, "Customer of ten years"),
    ]
    for minute, (action, user, reason) in enumerate(steps):
        decision = _act(
            decision, action, user, reason=reason, now=NOW + timedelta(minutes=minute)
        ).decision
    rows = list(DecisionTransition.objects.filter(decision=decision).order_by("at", "id"))
    assert [(r.action, r.from_outcome, r.to_outcome, r.by_username, r.reason) for r in rows] == [
        (ACT.DEFER, OUT.PENDING, OUT.DEFERRED, "alice", "Waiting for stock"),
        (ACT.REOPEN, OUT.DEFERRED, OUT.PENDING, "alice", ""),
        (ACT.ESCALATE, OUT.PENDING, OUT.ESCALATED, "alice", "Over the limit"),
        (ACT.APPROVE, OUT.ESCALATED, OUT.APPROVED, "sam", "Customer of ten years"),
    ]
    row = Decision.objects.get(pk=decision.pk)
    assert (row.decided_by, row.decided_at, row.reason) == (
        senior,
        NOW + timedelta(minutes=3),
        "Customer of ten years",
    )


# Resubmission


def test_transition_same_token_twice_acts_once(admin):
    """A double-click: the second call replays the first result; one change, one history row."""
    decision = DecisionFactory()
    token = decision_request_token_new()
    first = _act(decision, ACT.APPROVE, admin, request_token=token, now=NOW)
    second = _act(decision, ACT.APPROVE, admin, request_token=token)
    assert not first.replayed
    assert second.replayed
    assert second.transition == first.transition
    assert second.decision == first.decision
    assert second.decision.outcome == OUT.APPROVED
    assert second.decision.decided_at == NOW
    assert DecisionTransition.objects.count() == 1
    assert DecisionTransition.objects.get().request_token == token
    key = IdempotencyKey.objects.get()
    assert key.key == decision_request_key(decision_id=decision.pk, request_token=token)
    assert key.key == f"decision:{decision.pk}:{token}"
    assert (key.status, key.result_id) == (IdempotencyStatus.COMPLETED, str(first.transition.pk))


def test_transition_resubmitted_with_another_action_replays_the_first(admin):
    """The same form submitted again with another button still replays what was done."""
    decision = DecisionFactory()
    _act(decision, ACT.DEFER, admin, request_token="form-1")
    again = _act(decision, ACT.REJECT, admin, request_token="form-1", reason="changed my mind")
    assert again.replayed
    assert again.transition.action == ACT.DEFER
    assert Decision.objects.get(pk=decision.pk).outcome == OUT.DEFERRED


def test_transition_new_token_on_stale_copy_is_refused(admin):
    """A fresh form on a stale copy is a new action and loses like any other."""
    decision = DecisionFactory()
    _act(decision, ACT.APPROVE, admin, request_token="form-1")
    with pytest.raises(DecisionAlreadyDecidedError):
        _act(decision, ACT.APPROVE, admin, request_token="form-2")


def test_transition_token_is_per_decision(admin):
    """One token used on two decisions acts on both (the key includes the decision id)."""
    one, two = DecisionFactory(), DecisionFactory()
    assert not _act(one, ACT.APPROVE, admin, request_token="bulk-1").replayed
    assert not _act(two, ACT.APPROVE, admin, request_token="bulk-1").replayed
    assert DecisionTransition.objects.count() == 2


def test_transition_refused_call_stores_no_token(admin):
    """A refused call stores nothing, so resubmitting it is refused again, not replayed."""
    decision = DecisionFactory(outcome=OUT.ESCALATED)
    for _ in range(2):
        with pytest.raises(DecisionPermissionError):
            _act(decision, ACT.APPROVE, admin, request_token="form-1")
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize(
    "token",
    ["", "   ", "x" * (REQUEST_TOKEN_MAX_LENGTH + 1), "a\x00b", 12, b"bytes", ["t"]],
)
def test_transition_bad_token_is_refused(admin, token):
    """Blank, huge, NUL-carrying and non-str tokens are refused before any write."""
    decision = DecisionFactory()
    before = _state(decision)
    with pytest.raises(InvalidRequestTokenError) as info:
        _act(decision, ACT.APPROVE, admin, request_token=token)
    assert str(info.value) == REQUEST_TOKEN_INVALID.format(
        limit=REQUEST_TOKEN_MAX_LENGTH,
        type_name=type(token).__name__,
        length=len(token) if isinstance(token, str) else 0,
    )
    assert _state(decision) == before


@pytest.mark.parametrize("token", HOSTILE)
def test_transition_hostile_token_is_just_a_token(admin, token):
    """Markup or SQL in a token is stored verbatim and replays like any token."""
    decision = DecisionFactory()
    _act(decision, ACT.APPROVE, admin, request_token=token)
    assert _act(decision, ACT.APPROVE, admin, request_token=token).replayed
    assert DecisionTransition.objects.get().request_token == token


def test_request_token_new_is_random_and_fits():
    """Fresh tokens differ and fit the history column."""
    tokens = {decision_request_token_new() for _ in range(50)}
    assert len(tokens) == 50
    assert all(0 < len(t) <= REQUEST_TOKEN_MAX_LENGTH for t in tokens)


# Groups


def test_review_groups_ensure_restores_exact_permissions(review_groups):
    """Extra permissions are removed, missing ones added; running it twice changes nothing."""
    admins = Group.objects.get(name="Admins")
    admins.permissions.add(Permission.objects.get(codename="decide_escalated_decision"))
    Group.objects.get(name="Reviewers").delete()
    review_groups_ensure()
    groups = review_groups_ensure()
    assert set(groups) == set(REVIEW_GROUPS)
    for name, codenames in REVIEW_GROUPS.items():
        group = Group.objects.get(name=name)
        assert set(group.permissions.values_list("codename", flat=True)) == codenames


# Races


def _race(users, decision, action_for, token_for):
    barrier = threading.Barrier(len(users))

    def worker(i):
        try:
            barrier.wait()
            try:
                result = decision_transition(
                    decision=decision,
                    action=action_for(i),
                    user=users[i],
                    reason=f"Thread {i}",
                    now=NOW + timedelta(minutes=i),
                    request_token=token_for(i),
                )
            except DecisionAlreadyDecidedError as exc:
                return "lost", i, exc
            return "won" if not result.replayed else "replayed", i, result
        finally:
            connection.close()

    with ThreadPoolExecutor(len(users)) as pool:
        return [f.result() for f in [pool.submit(worker, i) for i in range(len(users))]]


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL); the SQLite race runs in a subprocess below",
)
@pytest.mark.django_db(transaction=True)
def test_transition_race_one_winner_postgres():
    """Eight admins act on one pending decision at once: one wins, seven are told who and when."""
    review_groups_ensure()
    users = [UserFactory(username=f"admin{i}", groups=["Senior admins"]) for i in range(8)]
    decision = DecisionFactory()
    actions = [ACT.APPROVE, ACT.REJECT, ACT.DEFER, ACT.ESCALATE]
    outcomes = _race(users, decision, lambda i: actions[i % 4], lambda i: None)

    winners = [(i, r) for kind, i, r in outcomes if kind == "won"]
    assert len(winners) == 1
    winner, result = winners[0]
    losers = [exc for kind, _, exc in outcomes if kind == "lost"]
    assert len(losers) == 7
    for exc in losers:
        assert exc.decided_by == f"admin{winner}"
        assert exc.decided_at == NOW + timedelta(minutes=winner)
        assert str(exc).startswith(f"Already {result.transition.to_outcome} by admin{winner} at")
    row = Decision.objects.get(pk=decision.pk)
    assert (row.outcome, row.decided_by_id) == (result.decision.outcome, users[winner].pk)
    assert DecisionTransition.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL); the SQLite race runs in a subprocess below",
)
@pytest.mark.django_db(transaction=True)
def test_transition_race_same_token_acts_once_postgres():
    """Eight submissions of one form at once: one transition; the others replay it."""
    review_groups_ensure()
    user = UserFactory(username="alice", groups=["Admins"])
    decision = DecisionFactory()
    outcomes = _race([user] * 8, decision, lambda i: ACT.APPROVE, lambda i: "form-1")

    assert sorted(kind for kind, _, _ in outcomes) == ["replayed"] * 7 + ["won"]
    assert {r.transition.pk for _, _, r in outcomes} == {DecisionTransition.objects.get().pk}
    assert IdempotencyKey.objects.get().status == IdempotencyStatus.COMPLETED


@pytest.mark.parametrize("mode", ["tokens", "same-token"])
def test_transition_race_sqlite_file(tmp_path, mode):
    """The same races on a SQLite file (WAL, IMMEDIATE): one transition, the rest lose or replay."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    report = run_for_report(
        ["-m", "tests.decisioning.sqlite_review_race", str(tmp_path / "race.sqlite3"), mode],
        env=env,
    )
    assert report["transitions"] == 1
    if mode == "tokens":
        assert sorted(report["kinds"]) == ["lost"] * 7 + ["won"]
        assert set(report["loser_deciders"]) == {report["winner"]}
    else:
        assert sorted(report["kinds"]) == ["replayed"] * 7 + ["won"]
