"""The one table of the HTTP API's routes. Both adapters (``fastapi_app``, ``flask_blueprints``), the OpenAPI
document (``openapi``), the ``/status`` fast path and every URL the code builds (``url_for``) come from it.

Per route: its name (also the name of its handler, a method of ``handlers.Api``), method and path, which adapters
carry it (``group``), who may call it (``auth``), what body it takes (``body``: size limit and content types) and
which threads run it (``pool``). ``admission.admit`` enforces ``auth`` and ``body`` for every route in one place,
before the handler runs; a changing route (any method but GET) also refuses cross-site requests there.

>>> url_for("entity", run_id="r1", entity_type="input")
'/api/pipeline/r1/entity/input'
>>> match("GET", "/api/pipeline/r1/status")[0].name
'status'
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

JSON = "application/json"


class Auth(enum.Enum):
    """Who may call a route."""

    OPEN = "open"  # anyone who may reach the server
    TOKEN = "token"  # the server's token, when it has one
    WRITE = "write"  # the token when the server has one; without one, loopback clients only


class Pool(enum.Enum):
    """Where the FastAPI adapter runs a route's handler. Each pool has its own threads, so work of one kind never
    waits for threads another kind holds: a cancel or a read is answered while every runner thread waits on a slow
    backend. (The Flask adapter runs every request on the server's thread for it.)"""

    LOOP = "loop"  # on the event loop itself: cheaper than a hop to a thread (a cached stat-and-compare)
    READS = "reads"  # reading runs, the listing, configs and pages
    RUNNER = "runner"  # pipeline work that may block until a run ends (execute with wait)
    CONTROL = "control"  # short changes that must never wait behind pipeline work (cancel)
    WRITES = "writes"  # recording into the store over HTTP (bodies streamed to disk)


# Threads per pool in the FastAPI adapter (READS uses anyio's default limiter, shared with streamed bodies).
POOL_THREADS = {Pool.RUNNER: 16, Pool.CONTROL: 8, Pool.WRITES: 16}


@dataclass(frozen=True)
class BodySpec:
    """The body a route takes: at most ``max_bytes``, of one of ``content_types`` (media types, no parameters)."""

    max_bytes: int
    content_types: tuple[str, ...] = (JSON,)
    required: bool = True  # False: the request may come without a body (and then without a Content-Type)


class Group(enum.Enum):
    """Which adapters carry a route: the Flask blueprints are ``pipeline_bp`` (READ), ``runner_bp`` (RUNNER) and
    ``writes_bp`` (WRITE); the FastAPI app carries every group."""

    READ = "read"
    RUNNER = "runner"
    WRITE = "write"
    VIEWER = "viewer"  # the web viewer's pages (FastAPI only)
    META = "meta"  # the OpenAPI document and its page (FastAPI only)


_PARAM = re.compile(r"{([a-z_]+(?::path)?)}")


def _compile(path: str) -> re.Pattern[str]:
    out, last = [], 0
    for found in _PARAM.finditer(path):
        out.append(re.escape(path[last:found.start()]))
        name, _, kind = found.group(1).partition(":")
        out.append(f"(?P<{name}>.*)" if kind == "path" else f"(?P<{name}>[^/]+)")
        last = found.end()
    out.append(re.escape(path[last:]))
    return re.compile("".join(out))



@dataclass(frozen=True)
class Route:
    name: str  # unique; also the name of the handler method of handlers.Api
    method: str
    path: str  # '{param}' segments; '{param:path}' takes the rest of the path, slashes included
    group: Group
    summary: str
    auth: Auth = Auth.OPEN
    body: BodySpec | None = None
    pool: Pool = Pool.READS
    tag: str = "runs"
    in_schema: bool = True  # listed in the OpenAPI document
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.path))

    @property
    def changes(self) -> bool:
        """A route that changes something: cross-site requests are refused on it."""
        return self.method not in ("GET", "HEAD", "OPTIONS")

    @property
    def params(self) -> list[str]:
        return [name.partition(":")[0] for name in _PARAM.findall(self.path)]


_EXECUTE_BODY = BodySpec(1_000_000)
_CANCEL_BODY = BodySpec(10_000, required=False)
_WRITE_BODY = BodySpec(1_000_000)
_LEASE_BODY = BodySpec(10_000, required=False)
ANY_TYPE = "*/*"
# An entity body: any type; the server's max_entity_bytes (Settings, default 4 GiB) is checked below this ceiling.
ENTITY_BODY_CEILING = 64 * 1024**3
_ENTITY_BODY = BodySpec(ENTITY_BODY_CEILING, (ANY_TYPE,))
RUN = "/api/pipeline/{run_id}"

ROUTES: tuple[Route, ...] = (
    # -- reading runs ----------------------------------------------------------------------------------------
    Route("runs", "GET", "/api/pipeline/runs", Group.READ, auth=Auth.TOKEN,
          summary="Runs newest first; filters config_name, user_id, status, since, until, kind, session_id, "
                  "device_id, tag; cursor; limit (1-200)."),
    Route("status", "GET", f"{RUN}/status", Group.READ, pool=Pool.LOOP,
          summary="The run's metadata.json, with an ETag (304 on If-None-Match); ?since=REVISION for changes only."),
    Route("entity", "GET", f"{RUN}/entity/{{entity_type}}", Group.READ, tag="entities",
          summary="The latest entity of a type (or ?index=N), with its MIME type; Range, ETag."),
    Route("file", "GET", f"{RUN}/file/{{filename}}", Group.READ, tag="entities",
          summary="Exactly the entity file of that name, as listed in the run's metadata."),
    Route("entities", "GET", f"{RUN}/entities", Group.READ, tag="entities",
          summary="Every entity record with its url (by type) and file_url (exactly this entity)."),
    Route("events", "GET", f"{RUN}/events", Group.READ,
          summary="Server-Sent Events: entity, state, status, end. Resume with Last-Event-ID."),
    Route("export", "GET", f"{RUN}/export", Group.READ, auth=Auth.TOKEN,
          summary="The run as a zip archive, streamed."),
    # -- research exports (http/research_export.py): a selection of runs as one archive or table --------------
    # Auth.WRITE: bulk personal data (children's words) leaves only with the token, or to this machine without one.
    Route("research_export", "GET", "/api/pipeline/export", Group.READ, auth=Auth.WRITE, tag="research",
          summary="Runs of a selection (session_id, user_id, device_id, kind, since, until) as a zip, csv or "
                  "parquet download (?format=), streamed; pseudonymise=1 replaces user and device ids, no_text=1 "
                  "leaves free text out."),
    # -- the runner ------------------------------------------------------------------------------------------
    Route("configs", "GET", "/api/schema/configs", Group.RUNNER, tag="runner",
          summary="The pipeline configs the runner knows."),
    Route("execute", "POST", "/api/schema/pipeline/execute", Group.RUNNER, auth=Auth.TOKEN, body=_EXECUTE_BODY,
          pool=Pool.RUNNER, tag="runner", summary="Run a configured pipeline; answers with status and run_id."),
    Route("cancel", "POST", f"{RUN}/cancel", Group.RUNNER, auth=Auth.TOKEN, body=_CANCEL_BODY, pool=Pool.CONTROL,
          tag="runner", summary="Ask a running pipeline to stop."),
    # -- recording from other machines (writes.py; Flask: writes_bp) ----------------------------------------
    Route("create_run", "POST", "/api/pipeline/runs", Group.WRITE, auth=Auth.WRITE, body=_WRITE_BODY,
          pool=Pool.WRITES, tag="writes",
          summary="Create a run (201), or attach to it with the same settings (200); other settings: 409."),
    Route("set_state", "PUT", f"{RUN}/state", Group.WRITE, auth=Auth.WRITE, body=_WRITE_BODY, pool=Pool.WRITES,
          tag="writes", summary="Set the run's current stage and step."),
    Route("save_entity", "POST", f"{RUN}/entity/{{entity_type}}", Group.WRITE, auth=Auth.WRITE, body=_ENTITY_BODY,
          pool=Pool.WRITES, tag="writes", summary="Save an entity: the body is its content, streamed to the store."),
    Route("save_error", "POST", f"{RUN}/error", Group.WRITE, auth=Auth.WRITE, body=_WRITE_BODY, pool=Pool.WRITES,
          tag="writes", summary="Save an error entity."),
    Route("finish", "POST", f"{RUN}/finish", Group.WRITE, auth=Auth.WRITE, body=_WRITE_BODY, pool=Pool.WRITES,
          tag="writes", summary="End the run: completed, failed, blocked or cancelled."),
    Route("renew_lease", "POST", f"{RUN}/lease", Group.WRITE, auth=Auth.WRITE, body=_LEASE_BODY,
          pool=Pool.WRITES, tag="writes", summary="Renew the lease of the writer named in Pipeline-Writer."),
    # -- the research record: models used, notes and tags (record; writes.py) ---------------------------------
    Route("set_model", "PUT", f"{RUN}/model", Group.WRITE, auth=Auth.WRITE, body=_WRITE_BODY, pool=Pool.WRITES,
          tag="writes", summary="Record which backend/model ran a stage: {stage_key, model} -> models_used."),
    Route("annotate", "PUT", f"{RUN}/annotations", Group.WRITE, auth=Auth.TOKEN, body=BodySpec(100_000),
          pool=Pool.WRITES, tag="runs",
          summary="Replace the run's notes (<= 10,000 characters) and/or tags (<= 32, 1-64 characters each); "
                  "also on ended runs."),
    Route("save_process_step", "POST", f"{RUN}/process/{{entity_type}}", Group.WRITE, auth=Auth.WRITE,
          body=_ENTITY_BODY, pool=Pool.WRITES, tag="writes",
          summary="Save a step of the prompting process: the body is its content, streamed to the store."),
    Route("process_file", "GET", f"{RUN}/process/{{filename}}", Group.READ, tag="entities",
          summary="A step file of the prompting process (prompting_process/{filename}), as listed in the metadata."),
    # -- the viewer and the API's own description (FastAPI only) ---------------------------------------------
    Route("index_page", "GET", "/", Group.VIEWER, tag="viewer", summary="The viewer's list of runs."),
    Route("run_page", "GET", "/runs/{run_id}", Group.VIEWER, tag="viewer", summary="The viewer page of one run."),
    Route("compare_page", "GET", "/compare", Group.VIEWER, tag="viewer",
          summary="The viewer page comparing 2 to 6 runs side by side: ?runs=RUN_ID,RUN_ID,..."),
    Route("static", "GET", "/static/{path:path}", Group.VIEWER, tag="viewer",
          summary="The viewer's script, style and image files."),
    Route("openapi", "GET", "/openapi.json", Group.META, tag="meta", in_schema=False,
          summary="This API's OpenAPI document."),
    Route("api_docs", "GET", "/docs", Group.META, tag="meta", in_schema=False,
          summary="The OpenAPI document as a page: every route, its parameters and answers."),
)

BY_NAME = {route.name: route for route in ROUTES}


def url_for(name: str, root: str = "", **params: str) -> str:
    """The URL path of a route with its parameters filled in (quoted), under ``root`` (a mount prefix)."""
    route = BY_NAME[name]

    def fill(found: re.Match[str]) -> str:
        param, _, kind = found.group(1).partition(":")
        return quote(str(params[param]), safe="/" if kind == "path" else "")

    return root + _PARAM.sub(fill, route.path)


def match(method: str, path: str, routes: Iterable[Route] = ROUTES) -> tuple[Route, dict[str, str]] | None:
    """The route of ``routes`` for a request and its path parameters, or None."""
    for route in routes:
        if route.method == method and (found := route.pattern.fullmatch(path)):
            return route, found.groupdict()
    return None


def in_groups(*groups: Group) -> tuple[Route, ...]:
    return tuple(route for route in ROUTES if route.group in groups)
