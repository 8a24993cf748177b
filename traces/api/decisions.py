"""``/api/v1/decisions``: the review queue, one decision, and review actions."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja import Router

from decision_trace.exceptions import InvalidCursorError
from decisioning.exceptions import (
    DecisionAlreadyDecidedError,
    DecisionDeletedError,
    DecisionPermissionError,
    InvalidActionError,
    InvalidReasonError,
    InvalidTransitionError,
)
from decisioning.models import Decision, DecisionOutcome
from decisioning.review import decision_transition
from decisioning.transitions import is_final
from traces.api.auth import require
from traces.api.errors import ApiError
from traces.api.events import ERRORS, PAGE_PARAMETERS, limit_of, next_link
from traces.api.exports import FILE_RESPONSES, FORMAT_PARAMETER, export_format_of, file_response
from traces.api.http_idempotency import ApiAnswer, run_idempotent
from traces.api.models import Scope
from traces.api.payloads import parse_json, text_problems
from traces.api.resources import decision_queryset, decision_resource
from traces.api.schemas import DecisionActionIn, DecisionClaimIn, DecisionOut, DecisionPageOut
from traces.approvals import MAX_WAIT_SECONDS, decision_wait
from traces.claims import (
    CLAIM_FINAL,
    DecisionClaimedError,
    claim_blocks,
    claim_info,
    decision_claim,
    decision_release,
)
from traces.filters import ReviewFilterSet
from traces.formats.exports import decision_export
from traces.review_selectors import review_queue_page, user_can_review

__all__ = ["router"]

router = Router(tags=["decisions"])

ACTION_KEYS = frozenset({"action", "reason", "expected_outcome", "override_claim"})
CLAIM_KEYS = frozenset({"force"})
QUEUE_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("tab", {"type": "string"}, "pending (default), deferred or escalated."),
        ("decision_type", {"type": "string"}, "Exact decision type."),
        ("risk", {"type": "array", "items": {"type": "string"}}, "Risk of the event (repeatable)."),
        ("actor_type", {"type": "array", "items": {"type": "string"}}, "Who proposed it."),
        ("age", {"type": "string"}, "Waiting longer than 1h, 24h or 7d."),
        (
            "overdue",
            {"type": "string", "enum": ["true", "false", "1", "0"]},
            "true (or 1): only decisions past their due time.",
        ),
    )
] + PAGE_PARAMETERS


@router.get(
    "/decisions",
    response={200: DecisionPageOut, **ERRORS},
    openapi_extra={
        "parameters": [*QUEUE_PARAMETERS, FORMAT_PARAMETER],
        "responses": FILE_RESPONSES,
    },
)
def decisions_list(request: HttpRequest) -> HttpResponseBase:
    """The review queue (a tab, its filters): overdue first, then oldest waiting (or a file)."""
    require(request, Scope.DECISIONS_READ)
    filterset = ReviewFilterSet(_queue_query(request), queryset=decision_queryset())
    if not filterset.is_valid():
        details = [
            {"field": field, "message": str(message)}
            for field, messages in filterset.errors.items()
            for message in messages
        ]
        raise ApiError(400, "bad_parameter", "Some filter parameters are not valid.", details)
    export_format = export_format_of(request)
    if export_format is not None:
        chunks = decision_export(filterset.qs, export_format=export_format)
        return file_response(chunks, export_format, "decisions")
    try:
        page = review_queue_page(
            filterset.qs,
            now=timezone.now(),
            cursor=request.GET.get("cursor") or None,
            limit=limit_of(request),
        )
    except InvalidCursorError as exc:
        raise ApiError(
            400,
            "bad_cursor",
            "The page cursor is not valid; start again from the first page.",
            [{"field": "cursor", "message": str(exc)}],
        ) from None
    return JsonResponse(
        {
            "results": [decision_resource(row) for row in page.items],
            "next_cursor": page.next_cursor,
            "next": next_link(request, page.next_cursor),
        }
    )


# The API spells the overdue filter true/false; the queue page's form says 1 or nothing.
_OVERDUE_WORDS = {"true": "1", "1": "1", "false": "", "0": ""}


def _queue_query(request: HttpRequest) -> QueryDict:
    query = request.GET.copy()
    values = query.getlist("overdue")
    if len(values) == 1 and values[0] in _OVERDUE_WORDS:
        query.setlist("overdue", [_OVERDUE_WORDS[values[0]]])
    return query


def _decision(decision_id: str) -> Decision:
    try:
        pk = uuid.UUID(decision_id)
    except ValueError:
        pk = None
    decision = decision_queryset().filter(pk=pk).first() if pk is not None else None
    if decision is None:
        raise ApiError(404, "not_found", "No decision has this id.")
    return decision


WAIT_PARAMETER = {
    "name": "wait",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_SECONDS},
    "description": "Wait up to this many seconds for the decision to be approved or rejected.",
}


def _wait_seconds(request: HttpRequest) -> int:
    values = request.GET.getlist("wait")
    if not values:
        return 0
    raw = values[-1]
    if len(values) > 1 or not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        raise ApiError(
            400,
            "bad_parameter",
            f"wait takes one whole number of seconds from 0 to {MAX_WAIT_SECONDS}.",
            [{"field": "wait", "message": "Not a whole number of seconds."}],
        )
    seconds = int(raw)
    if seconds > MAX_WAIT_SECONDS:
        raise ApiError(
            400,
            "bad_parameter",
            f"wait takes one whole number of seconds from 0 to {MAX_WAIT_SECONDS}.",
            [{"field": "wait", "message": f"At most {MAX_WAIT_SECONDS}."}],
        )
    return seconds


@router.get(
    "/decisions/{decision_id}",
    response={200: DecisionOut, **ERRORS},
    openapi_extra={"parameters": [WAIT_PARAMETER]},
)
def decision_detail(request: HttpRequest, decision_id: str) -> JsonResponse:
    """One decision with its transitions; with ``wait=N``, once final or after N seconds."""
    require(request, Scope.DECISIONS_READ)
    seconds = _wait_seconds(request)
    decision = _decision(decision_id)
    if seconds and not is_final(decision.outcome):
        decision_wait(decision.pk, seconds=seconds)
        decision = _decision(decision_id)
    return JsonResponse(decision_resource(decision))


def _action_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(
            422,
            "validation_error",
            'The body must be {"action", "reason", "expected_outcome"}.',
            [{"field": "", "message": f"An object is needed; got {type(body).__name__}."}],
        )
    problems = [
        {
            "field": key,
            "message": (
                f"Unknown field {key!r}; allowed: action, reason, expected_outcome, override_claim."
            ),
        }
        for key in body
        if key not in ACTION_KEYS
    ]
    problems += text_problems(body)
    expected = body.get("expected_outcome")
    if expected is not None and expected not in DecisionOutcome.values:
        allowed = ", ".join(DecisionOutcome.values)
        problems.append(
            {"field": "expected_outcome", "message": f"expected_outcome must be one of {allowed}."}
        )
    if not isinstance(body.get("override_claim", False), bool):
        problems.append({"field": "override_claim", "message": "override_claim is true or false."})
    if problems:
        raise ApiError(422, "validation_error", "The action is not valid.", problems)
    return body


@router.post(
    "/decisions/{decision_id}/actions",
    response={200: DecisionOut, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DecisionActionIn.model_json_schema()}},
        }
    },
)
def decision_act(request: HttpRequest, decision_id: str) -> JsonResponse:
    """Approve, reject, defer, escalate or reopen, through ``decision_transition``.

    Someone else's unexpired claim is 409 ``decision_claimed`` naming them and
    since when, unless the body has ``"override_claim": true`` (the UI asks the
    reviewer to confirm in the same case).
    """
    principal = require(request, Scope.DECISIONS_DECIDE)

    def run() -> ApiAnswer:
        body = _action_body(parse_json(request))
        decision = _decision(decision_id)
        claim = claim_info(decision)
        overridden = body.get("override_claim") is True
        if claim is not None and claim_blocks(decision, principal.user) and not overridden:
            raise _claimed_conflict(DecisionClaimedError(claim))
        try:
            result = decision_transition(
                decision=decision,
                action=body.get("action"),  # type: ignore[arg-type]
                user=principal.user,
                reason=body.get("reason", ""),
                expected_outcome=body.get("expected_outcome"),
                expected_decided_at=decision.decided_at,
            )
        except DecisionPermissionError as exc:
            raise ApiError(403, "permission_denied", str(exc)) from None
        except (InvalidTransitionError, DecisionAlreadyDecidedError) as exc:
            raise ApiError(409, "decision_conflict", str(exc)) from None
        except (InvalidActionError, InvalidReasonError) as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
        except DecisionDeletedError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        return 200, decision_resource(_decision(str(result.decision.pk)))

    return run_idempotent(request, principal, run)


def _claim_force(request: HttpRequest) -> bool:
    """The claim body's ``force`` (an empty body is ``{}``); 422 for anything else."""
    if not request.body.strip():
        return False
    body = parse_json(request)
    if not isinstance(body, dict):
        raise ApiError(
            422,
            "validation_error",
            'The body must be {"force": true|false} or empty.',
            [{"field": "", "message": f"An object is needed; got {type(body).__name__}."}],
        )
    problems = [
        {"field": key, "message": f"Unknown field {key!r}; allowed: force."}
        for key in body
        if key not in CLAIM_KEYS
    ]
    problems += text_problems(body)
    force: object = body.get("force", False)
    if not isinstance(force, bool):
        problems.append({"field": "force", "message": "force is true or false."})
    if problems:
        raise ApiError(422, "validation_error", "The claim is not valid.", problems)
    return force is True


def _claimed_conflict(exc: DecisionClaimedError) -> ApiError:
    claim = exc.claim
    return ApiError(
        409,
        "decision_claimed",
        str(exc),
        [
            {
                "field": "claim",
                "message": str(exc),
                "by": claim.by,
                "since": claim.since.isoformat(),
                "expires_at": claim.expires_at.isoformat(),
            }
        ],
    )


@router.post(
    "/decisions/{decision_id}/claim",
    response={200: DecisionOut, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": DecisionClaimIn.model_json_schema()}},
        }
    },
)
def decision_claim_api(request: HttpRequest, decision_id: str) -> JsonResponse:
    """Claim the decision for review, or renew your claim (a lock others see; it expires).

    Someone else's unexpired claim is 409 ``decision_claimed`` naming them and
    since when, unless the body is ``{"force": true}``.
    """
    principal = require(request, Scope.DECISIONS_DECIDE)

    def run() -> ApiAnswer:
        force = _claim_force(request)
        decision = _decision(decision_id)
        try:
            decision_claim(
                decision=decision,
                user=principal.user,
                can_review=user_can_review(principal.user),
                force=force,
            )
        except DecisionClaimedError as exc:
            raise _claimed_conflict(exc) from None
        except DecisionPermissionError as exc:
            raise _claim_refusal(exc) from None
        return 200, decision_resource(_decision(decision_id))

    return run_idempotent(request, principal, run)


def _claim_refusal(exc: DecisionPermissionError) -> ApiError:
    if str(exc) == CLAIM_FINAL:
        return ApiError(409, "decision_conflict", str(exc))
    return ApiError(403, "permission_denied", str(exc))


@router.delete("/decisions/{decision_id}/claim", response={200: DecisionOut, **ERRORS})
def decision_release_api(request: HttpRequest, decision_id: str) -> JsonResponse:
    """Release your claim on the decision (no claim: nothing changes); 409 for someone else's."""
    principal = require(request, Scope.DECISIONS_DECIDE)
    decision = _decision(decision_id)
    try:
        decision_release(decision=decision, user=principal.user)
    except DecisionClaimedError as exc:
        raise _claimed_conflict(exc) from None
    except DecisionPermissionError as exc:
        raise _claim_refusal(exc) from None
    return JsonResponse(decision_resource(_decision(decision_id)))
