"""The portal: server-rendered pages for requesters, approvers, inspectors and the public board."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from services.portal.routes import router
from services.portal.session import end_session
from services.portal.web import HERE, LoginRequired, PageProblem, page_problem_response, redirect


def install_portal(app: FastAPI) -> None:
    """Pages under `/`, assets under `/static`; their errors are pages, never problem+json."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = "/masuk" + (f"?{urlencode({'lanjut': exc.next_path})}" if exc.next_path != "/" else "")
        if request.headers.get("hx-request") == "true":
            response: Response = Response(status_code=204, headers={"HX-Redirect": target})
        else:
            response = redirect(target)
        if exc.clear_cookie:
            end_session(request, response)
        return response

    @app.exception_handler(PageProblem)
    async def _page_problem(request: Request, exc: PageProblem) -> Response:
        return await page_problem_response(request, exc)
