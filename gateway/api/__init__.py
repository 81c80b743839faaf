"""The IC HTTP interface endpoints, one router per family.

Spec: IC interface spec 0.66.0, HTTPS interface.
"""

from __future__ import annotations

from gateway.api.call import router as call_router
from gateway.api.query import router as query_router
from gateway.api.read_state import router as read_state_router
from gateway.api.status import router as status_router

__all__ = ["call_router", "query_router", "read_state_router", "status_router"]
