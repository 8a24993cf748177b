"""Signals sent by ``decision_transition``: one inside the transaction, one after commit.

``decision_transitioned``
    Sent synchronously **inside** the transaction, after the Decision row and
    its ``DecisionTransition`` history row are written (``Signal.send``, not
    ``send_robust``). Receivers write whatever must commit or roll back with
    the review action, e.g. the audit trace event and the originating event's
    approval fields. If a receiver raises, the exception propagates and the
    whole transition rolls back: no outcome change, no history row, no
    stored resubmission result, and ``decision_changed`` is not sent.

``decision_changed``
    Sent through ``transaction.on_commit`` once the change has committed (so
    never for a rolled-back change, and not for a replayed resubmission),
    with ``send_robust``: a failing receiver is logged by Django
    (``django.dispatch``) and does not affect the caller or other receivers.
    For notifications and other side effects that leave the database.

Both are sent with ``sender=Decision`` and these keyword arguments:

- ``decision``: the Decision as it is after the change (fresh from the database);
- ``transition``: the new ``DecisionTransition`` row (action, from/to outcome,
  by, by_username, reason, at, request_token);
- ``user``: the user who acted.

``decisioning`` never imports ``traces``; the ``traces`` app connects its own
receivers (in its ``AppConfig.ready``).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["decision_changed", "decision_transitioned"]

decision_transitioned = Signal()
decision_changed = Signal()
