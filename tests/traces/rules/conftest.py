from __future__ import annotations

from tests.traces.api.conftest import api, root, token_for  # noqa: F401
