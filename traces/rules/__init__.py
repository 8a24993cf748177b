"""Review rules: admins choose which incoming events go to the review queue.

``traces.rules.models.ReviewRule`` is edited in the admin; its condition is
the JSON structure ``traces.rules.conditions`` validates and compiles;
``traces.rules.engine`` loads the enabled rules once per write and tells, for
each event, which rule fires (``traces.services`` applies it in the write
transaction).
"""

from __future__ import annotations
