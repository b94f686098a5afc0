"""The API's description as served: ``/openapi.json`` and ``/docs``, a page of its own that lists every route with
its parameters and answers. The page is plain HTML made here from the document -- no script, nothing loaded from
another site (the usual Swagger UI page fetches its code from a CDN; this project works offline)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from html import escape
from typing import Any

from . import openapi
from .response import Response
from .routes import Route
from .security import PAGE_HEADERS


@functools.lru_cache(maxsize=4)
def document_bytes(routes: Sequence[Route], version: str) -> bytes:
    """The OpenAPI document as JSON bytes (built once per table)."""
    return json.dumps(openapi.document(routes, version), ensure_ascii=False).encode()


def page(routes: Sequence[Route], version: str, document_url: str) -> Response:
    """GET /docs: every route of the document with its parameters, body and answers."""
    return Response(200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache", **PAGE_HEADERS},
                    _html(json.loads(document_bytes(routes, version)), document_url).encode())


def _html(document: dict[str, Any], document_url: str) -> str:
    info = document["info"]
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(info['title'])} API</title>"
             "</head><body>",
             f"<h1>{escape(info['title'])} {escape(info['version'])}: HTTP API</h1>",
             f"<p>{escape(info['description'])} The machine-readable document is "
             f"<a href=\"{escape(document_url)}\">{escape(document_url)}</a>.</p>"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            parts.append(f"<h2 id=\"{escape(operation['operationId'])}\"><code>{method.upper()} {escape(path)}"
                         f"</code></h2><p>{escape(operation['summary'])}</p>")
            parameters = operation.get("parameters", [])
            if parameters:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>")
                parts += [f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                          f"<td>{escape(p.get('description', ''))}</td></tr>" for p in parameters]
                parts.append("</table>")
            if "requestBody" in operation:
                body = operation["requestBody"]
                parts.append(f"<p>Body: {escape(', '.join(body['content']))}; {escape(body['description'])}"
                             f"{'' if body['required'] else ' (optional)'}.</p>")
            parts.append("<ul>")
            parts += [f"<li><code>{escape(code)}</code> {escape(answer.get('description', ''))}</li>"
                      for code, answer in operation["responses"].items()]
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
