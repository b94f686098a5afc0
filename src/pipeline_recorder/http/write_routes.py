"""The write routes (writes.py) as rows, and how each adapter carries them: one list that the FastAPI app, the
Flask blueprint and the OpenAPI document all read. Request bodies are handed to the handlers chunk by chunk as
they arrive; on FastAPI the handler runs in a worker thread that pulls each chunk from the event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.from_thread

from .response import Response
from .writes import WriteRequest, Writes

if TYPE_CHECKING:
    from fastapi import FastAPI
    from flask import Blueprint
    from flask import Response as FlaskResponse

RUN = "/api/pipeline/{run_id}"
READ_SIZE = 256 * 1024


@dataclass(frozen=True)
class WriteRoute:
    name: str  # the handler, a method of Writes
    method: str
    path: str
    summary: str


WRITE_ROUTES: tuple[WriteRoute, ...] = (
    WriteRoute("create_run", "POST", "/api/pipeline/runs",
               "Create a run (201), or attach to it with the same settings (200); other settings: 409."),
    WriteRoute("set_state", "PUT", f"{RUN}/state", "Set the run's current stage and step."),
    WriteRoute("save_entity", "POST", f"{RUN}/entity/{{entity_type}}",
               "Save an entity: the body is its content, streamed to the store."),
    WriteRoute("save_error", "POST", f"{RUN}/error", "Save an error entity."),
    WriteRoute("finish", "POST", f"{RUN}/finish", "End the run: completed, failed, blocked or cancelled."),
    WriteRoute("renew_lease", "POST", f"{RUN}/lease", "Renew the lease of the writer named in Pipeline-Writer."),
)


class _Chunks:
    def __init__(self, next_chunk: Callable[[], bytes]) -> None:
        self._next = next_chunk

    def chunks(self) -> Iterator[bytes]:
        while chunk := self._next():
            yield chunk


def add_to_fastapi(app: FastAPI, writes: Callable[[], Writes], in_thread: Callable[..., Any]) -> None:
    """Add the write routes to a FastAPI app; handlers run in worker threads (``in_thread``)."""
    from fastapi import Request

    for row in WRITE_ROUTES:
        def endpoint_for(row: WriteRoute) -> Callable[..., Any]:
            async def endpoint(request: Request) -> Any:
                stream: AsyncIterator[bytes] = request.stream()

                async def pull() -> bytes:
                    try:
                        return await stream.__anext__()
                    except StopAsyncIteration:
                        return b""

                def next_chunk() -> bytes:  # Starlette ends the stream with b""
                    return anyio.from_thread.run(pull)

                client = request.client.host if request.client else None
                write = WriteRequest(request.path_params, request.query_params, request.headers,
                                     _Chunks(next_chunk), client)
                handler: Callable[[WriteRequest], Response] = getattr(writes(), row.name)
                return await in_thread(lambda: handler(write))

            endpoint.__annotations__["request"] = Request  # resolved here: the module's annotations are strings
            endpoint.__name__ = row.name
            endpoint.__doc__ = row.summary
            return endpoint

        app.add_api_route(row.path, endpoint_for(row), methods=[row.method], tags=["writes"],
                          name=row.name, summary=row.summary, description=row.summary)


def add_to_flask(blueprint: Blueprint, writes: Callable[[], Writes],
                 to_flask: Callable[[Response], FlaskResponse]) -> None:
    """Add the write routes to a Flask blueprint (werkzeug streams the body; nothing is read ahead)."""
    from flask import request

    for row in WRITE_ROUTES:
        def view_for(row: WriteRoute) -> Callable[..., FlaskResponse]:
            def view(**params: str) -> FlaskResponse:
                stream = request.stream
                write = WriteRequest(params, request.args, request.headers,
                                     _Chunks(lambda: stream.read(READ_SIZE)), request.remote_addr)
                return to_flask(getattr(writes(), row.name)(write))

            view.__name__ = row.name
            return view

        path = row.path.replace("{", "<").replace("}", ">")
        blueprint.add_url_rule(path, endpoint=row.name, view_func=view_for(row), methods=[row.method])
