"""A fake catbox.moe: multipart upload in, plain-text URL out, and the uploaded files served back.

Like the real service, a failure is plain text that is not a URL, often with status 200
(shared/reference/external-apis.md section 3), so a client must check the text, not the status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import PurePath

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response


@dataclass
class FakeCatbox:
    fail_text: str | None = None  # answer every upload with this text and status 200
    uploads: list[tuple[str, bytes]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def app(self) -> FastAPI:
        return _build(self)


def _build(fake: FakeCatbox) -> FastAPI:
    app = FastAPI()

    @app.post("/user/api.php")
    async def api(request: Request) -> Response:
        form = await request.form()
        if form.get("reqtype") != "fileupload":
            return PlainTextResponse("No request type given.")
        upload = form.get("fileToUpload")
        if upload is None or isinstance(upload, str):
            return PlainTextResponse("No files given.")
        data = await upload.read()
        fake.uploads.append((upload.filename or "", data))
        if fake.fail_text is not None:
            return PlainTextResponse(fake.fail_text)
        name = uuid.uuid4().hex[:6] + PurePath(upload.filename or "file").suffix
        fake.files[name] = data
        # The real answer is files.catbox.moe/NAME; here the fake serves the file itself.
        return PlainTextResponse(f"{str(request.base_url).rstrip('/')}/files/{name}")

    @app.get("/files/{name}")
    async def file(name: str) -> Response:
        data = fake.files.get(name)
        if data is None:
            return PlainTextResponse("404 Not Found", status_code=404)
        return Response(data, media_type="application/octet-stream")

    return app
