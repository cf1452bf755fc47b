"""All portal routes, one module per kind of user."""

from __future__ import annotations

from fastapi import APIRouter

from services.portal.routes import approver, board, duties, inspector, requester, signin

router = APIRouter(include_in_schema=False)
for module in (signin, requester, approver, inspector, board, duties):
    router.include_router(module.router)
