"""Writes for the review workflow: decision transitions and the review groups.

``decision_transition`` is the one way a review action (approve, reject,
defer, escalate, reopen) changes a Decision; see its docstring and
``decisioning.transitions`` for the rules. A resubmitted review form is
recognised by its request token, stored as an idempotency key through
``decisioning.idempotency``.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from decisioning.conf import get_default_expires_in, get_stale_after
from decisioning.exceptions import (
    ALREADY_DECIDED,
    ALREADY_DECIDED_BY_SYSTEM,
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
    InvalidReasonError,
    InvalidRequestTokenError,
    InvalidTimeError,
    InvalidTransitionError,
    ReasonRequiredError,
    ReasonTooLongError,
)
from decisioning.idempotency import (
    IdempotencyClaim,
    idempotency_key_claim,
    idempotency_key_complete,
)
from decisioning.models import (
    REASON_MAX_LENGTH,
    REQUEST_TOKEN_MAX_LENGTH,
    Decision,
    DecisionAction,
    DecisionTransition,
)
from decisioning.permissions import REVIEW_GROUPS, REVIEW_PERMISSIONS
from decisioning.signals import decision_changed, decision_transitioned
from decisioning.transitions import (
    ACTION_TARGETS,
    allowed_actions,
    is_final,
    parse_action,
    past_tense,
    reason_required,
    required_permission,
    transition_target,
)

__all__ = [
    "TransitionResult",
    "decision_request_key",
    "decision_request_token_new",
    "decision_transition",
    "review_groups_ensure",
]

AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class TransitionResult:
    """What ``decision_transition`` did.

    ``decision`` is the Decision after the change and ``transition`` its new
    history row. With ``replayed`` True the request token had been used
    before: nothing was done now, and both are what the first submission
    produced, re-read from the database.
    """

    decision: Decision
    transition: DecisionTransition
    replayed: bool = False


def decision_request_token_new() -> str:
    """A fresh random resubmission token, for a review form's hidden field."""
    return secrets.token_urlsafe(24)


def decision_request_key(*, decision_id: object, request_token: str) -> str:
    """The idempotency key under which a token's submission is stored."""
    return f"decision:{decision_id}:{request_token}"


@transaction.atomic
def decision_transition(
    *,
    decision: Decision,
    action: DecisionAction | str,
    user: AnyUser | None,
    reason: str = "",
    now: datetime | None = None,
    request_token: str | None = None,
    expected_outcome: str | None = None,
    expected_decided_at: datetime | None = None,
) -> TransitionResult:
    """Take a review action on ``decision``, in one transaction, or change nothing.

    The row is locked (``select_for_update()``) and then updated only if it
    still has the outcome and ``decided_at`` of the ``decision`` passed in,
    so of two reviewers acting at once exactly one wins; the other, and
    anyone acting on a stale copy or a final decision, gets
    ``DecisionAlreadyDecidedError`` saying who changed it and when. The
    Decision gets the new outcome, ``reason``, ``decided_by=user`` and
    ``decided_at=now``; a ``DecisionTransition`` row records the step; then
    ``decision_transitioned`` is sent inside the transaction and
    ``decision_changed`` after commit (see ``decisioning.signals``). The
    instance passed in is not modified; use the result's ``decision``.

    Args:
        decision: the Decision as the reviewer saw it.
        action: a ``DecisionAction`` or its value ("approve", "reject",
            "defer", "escalate", "reopen").
        user: who acts; must be active and hold the permission
            ``decisioning.transitions.required_permission`` names.
        reason: why; required (non-blank) for reject and escalate, at most
            ``REASON_MAX_LENGTH`` characters, stored stripped of surrounding
            whitespace and otherwise verbatim (escape it when rendering).
        now: the time of the action (aware); default ``timezone.now()``.
        request_token: the submitting form's random token
            (``decision_request_token_new()``). A second call with the same
            decision and token does nothing and returns the first call's
            result with ``replayed=True`` (until the key is cleaned up or
            expires, see ``DECISIONING_DEFAULT_EXPIRES_IN``). A call that
            raised stored nothing, so its resubmission runs again.
        expected_outcome: the outcome the reviewer saw, when it may differ
            from ``decision.outcome`` (a form that carries it); default
            ``decision.outcome``.
        expected_decided_at: the ``decided_at`` the reviewer saw with
            ``expected_outcome`` (``None``: never decided); read only when
            ``expected_outcome`` is given.

    Returns:
        A ``TransitionResult``.

    Raises:
        InvalidActionError: ``action`` is not a review action.
        DecisionPermissionError: ``user`` is anonymous, inactive or lacks
            the permission.
        InvalidReasonError: ``reason`` is not a str or contains NUL;
            ``ReasonRequiredError`` when it is blank for reject or escalate,
            ``ReasonTooLongError`` when it is too long.
        InvalidRequestTokenError: ``request_token`` is blank, too long, not
            a str or contains NUL.
        InvalidTimeError: ``now`` is not an aware datetime.
        DecisionDeletedError: the decision is soft-deleted, unsaved or gone.
        DecisionAlreadyDecidedError: it changed since ``decision`` was read,
            or it is final.
        InvalidTransitionError: the state machine does not allow ``action``
            from its outcome.
    """
    action = parse_action(action)
    reviewer = _check_reviewer(user)
    reason = _clean_reason(reason, action=action)
    if request_token is not None:
        _check_request_token(request_token)
    now = _aware_now(now)
    claim = None
    if request_token is not None:
        claim = idempotency_key_claim(
            key=decision_request_key(decision_id=decision.pk, request_token=request_token),
            stale_after=get_stale_after(),
            expires_in=get_default_expires_in(),
            now=now,
        )
        if not claim.acquired:
            return _replay(claim, decision_id=decision.pk)
    if expected_outcome is None:
        expected_outcome, expected_decided_at = decision.outcome, decision.decided_at
    result = _transition_apply(
        decision=decision,
        action=action,
        user=reviewer,
        reason=reason,
        now=now,
        request_token=request_token or "",
        expected=(expected_outcome, expected_decided_at),
    )
    if claim is not None:
        idempotency_key_complete(claim=claim, result=result.transition, now=now)
    return result


def _check_reviewer(user: AnyUser | None) -> User:
    if user is None or not user.is_authenticated:
        raise DecisionPermissionError(PERMISSION_ANONYMOUS)
    if not user.is_active:
        raise DecisionPermissionError(PERMISSION_INACTIVE)
    # Signed in and active: a row of the user model, which has permissions.
    reviewer = cast("User", user)
    if not any(reviewer.has_perm(permission) for permission in REVIEW_PERMISSIONS):
        raise DecisionPermissionError(PERMISSION_NONE)
    return reviewer


def _clean_reason(reason: object, *, action: DecisionAction) -> str:
    if not isinstance(reason, str):
        raise InvalidReasonError(REASON_NOT_STRING.format(type_name=type(reason).__name__))
    if "\x00" in reason:
        raise InvalidReasonError(REASON_HAS_NUL)
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ReasonTooLongError(
            REASON_TOO_LONG.format(length=len(reason), limit=REASON_MAX_LENGTH)
        )
    if not reason and reason_required(action):
        raise ReasonRequiredError(REASON_REQUIRED.format(action=action.value))
    return reason


def _check_request_token(token: object) -> None:
    if (
        not isinstance(token, str)
        or not token.strip()
        or len(token) > REQUEST_TOKEN_MAX_LENGTH
        or "\x00" in token
    ):
        raise InvalidRequestTokenError(
            REQUEST_TOKEN_INVALID.format(
                limit=REQUEST_TOKEN_MAX_LENGTH,
                type_name=type(token).__name__,
                length=len(token) if isinstance(token, str) else 0,
            )
        )


def _aware_now(now: object) -> datetime:
    if now is None:
        return timezone.now()
    if not isinstance(now, datetime):
        raise InvalidTimeError(NOT_A_DATETIME.format(name="now", type_name=type(now).__name__))
    if timezone.is_naive(now):
        raise InvalidTimeError(NAIVE_DATETIME.format(name="now"))
    return now


def _replay(claim: IdempotencyClaim, *, decision_id: object) -> TransitionResult:
    transition = claim.record.replay_result()
    if not isinstance(transition, DecisionTransition):
        raise DecisionDeletedError(DECISION_MISSING.format(decision_id=decision_id))
    decision = Decision.all_objects.get(pk=transition.decision_id)
    return TransitionResult(decision=decision, transition=transition, replayed=True)


def _transition_apply(
    *,
    decision: Decision,
    action: DecisionAction,
    user: User,
    reason: str,
    now: datetime,
    request_token: str,
    expected: tuple[str, datetime | None],
) -> TransitionResult:
    current = Decision.all_objects.select_for_update().filter(pk=decision.pk).first()
    if current is None:
        raise DecisionDeletedError(DECISION_MISSING.format(decision_id=decision.pk))
    if current.is_deleted:
        raise DecisionDeletedError(DECISION_DELETED.format(decision_id=decision.pk))
    from_outcome = current.outcome
    seen_decided_at = current.decided_at
    if is_final(from_outcome) or from_outcome != expected[0] or seen_decided_at != expected[1]:
        raise _already_decided(current, action=action)
    to_outcome = transition_target(from_outcome=from_outcome, action=action)
    if to_outcome is None:
        raise InvalidTransitionError(
            TRANSITION_NOT_ALLOWED.format(
                action=action.value,
                from_outcome=from_outcome,
                allowed=_allowed_text(allowed_actions(from_outcome)),
            ),
            decision_id=current.pk,
            action=action,
            from_outcome=from_outcome,
            to_outcome=ACTION_TARGETS[action],
        )
    permission = required_permission(from_outcome=from_outcome, action=action)
    if not user.has_perm(permission):
        raise DecisionPermissionError(
            PERMISSION_MISSING.format(action=action.value, from_outcome=from_outcome),
            permission=permission,
        )

    current.outcome = to_outcome
    current.reason = reason
    current.decided_by = user
    current.decided_at = now
    current.updated_at = timezone.now()
    current.full_clean()
    transition = DecisionTransition(
        decision=current,
        action=action,
        from_outcome=from_outcome,
        to_outcome=to_outcome,
        by=user,
        by_username=user.get_username(),
        reason=reason,
        at=now,
        request_token=request_token,
    )
    transition.full_clean()
    # The lock already serialises reviewers; the conditional UPDATE keeps the
    # rule true even where the lock is weaker than it looks.
    updated = Decision.all_objects.filter(
        pk=current.pk,
        outcome=from_outcome,
        decided_at=seen_decided_at,
        deleted_at__isnull=True,
    ).update(
        outcome=current.outcome,
        reason=current.reason,
        decided_by=current.decided_by,
        decided_at=current.decided_at,
        updated_at=current.updated_at,
    )
    if updated != 1:
        fresh = Decision.all_objects.get(pk=current.pk)
        raise _already_decided(fresh, action=action)
    transition.save()

    decision_transitioned.send(sender=Decision, decision=current, transition=transition, user=user)
    transaction.on_commit(
        functools.partial(
            decision_changed.send_robust,
            sender=Decision,
            decision=current,
            transition=transition,
            user=user,
        )
    )
    return TransitionResult(decision=current, transition=transition)


def _allowed_text(actions: tuple[DecisionAction, ...]) -> str:
    names = [action.value for action in actions]
    if not names:
        return "do nothing"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _already_decided(current: Decision, *, action: DecisionAction) -> DecisionAlreadyDecidedError:
    last = current.transitions.order_by("-id").first()
    if last is not None and last.to_outcome == current.outcome:
        who: str | None = last.by_username
        when = last.at
        what = past_tense(DecisionAction(last.action))
    else:
        who = current.decided_by.get_username() if current.decided_by is not None else None
        when = current.decided_at or current.updated_at
        what = current.outcome
    message = ALREADY_DECIDED.format(
        what=what,
        who=who or ALREADY_DECIDED_BY_SYSTEM,
        when=when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return DecisionAlreadyDecidedError(
        message,
        decision_id=current.pk,
        action=action,
        from_outcome=current.outcome,
        to_outcome=ACTION_TARGETS[action],
        decided_by=who,
        decided_at=when,
    )


@transaction.atomic
def review_groups_ensure() -> dict[str, Group]:
    """Create the review groups if missing and give each exactly its permissions.

    Migration ``0004_review_groups`` does this on ``migrate``; call this to
    restore the groups afterwards (e.g. after a database flush) or from a
    demo setup. Group names and permissions: ``decisioning.permissions``.

    Returns:
        The groups by name: "Reviewers", "Admins", "Senior admins".
    """
    opts = Decision._meta
    content_type = ContentType.objects.get_for_model(Decision)
    names = {f"view_{opts.model_name}": f"Can view {opts.verbose_name_raw}"}
    names.update(opts.permissions)
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in names.items()
    }
    groups = {}
    for group_name, codenames in REVIEW_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set([permissions[codename] for codename in sorted(codenames)])
        groups[group_name] = group
    return groups
