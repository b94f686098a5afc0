"""The viewer's pages as the server answers them: each is whole (the head, skip link and site header of the shared
layout, the page's own title, script and content, the pieces its macros make) and carries the pages' security
headers; a page is rendered once per server. Read with the standard library's HTML parser, not with the templates."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from http_runs import completed_run
from http_servers import fastapi_server

from pipeline_recorder.http.pages import PageNotFoundError, Pages
from pipeline_recorder.http.security import PAGE_HEADERS
from pipeline_recorder.http.settings import Settings


class Elements(HTMLParser):
    """Every start tag of a page in order, as (tag, attributes, the tags it sits in), plus the text of <title>."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None], tuple[str, ...]]] = []
        self.doctype = ""
        self.title = ""
        self._open: list[str] = []
        self.feed(text)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs), tuple(self._open)))
        if tag not in ("meta", "link", "input", "br", "img"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self._open and self._open[-1] == tag, f"</{tag}> closes <{self._open[-1] if self._open else ''}>"
        self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] == "title":
            self.title += data

    def find(self, tag: str, **attrs: str) -> list[tuple[str, dict[str, str | None], tuple[str, ...]]]:
        """The tags named ``tag`` with these attributes (``for_`` is ``for``, ``data_i18n`` is ``data-i18n``)."""
        return [t for t in self.tags if t[0] == tag and all(t[1].get(k.rstrip("_").replace("_", "-")) == v
                                                            for k, v in attrs.items())]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    base = tmp_path_factory.mktemp("pages")
    run_id = completed_run(base)
    with fastapi_server(Settings(base_path=base)) as url:
        yield url, run_id


# path (run id filled in) -> status, title, script, whether the header links to all runs, whether <noscript> says
# the page needs JavaScript
PAGES = {
    "/": (200, "pipeline-recorder", "runs.js", False, True),
    "/runs/{run_id}": (200, "Run · pipeline-recorder", "run.js", True, True),
    "/static/run.html": (200, "Run · pipeline-recorder", "run.js", True, True),
    "/compare?runs=a,b": (200, "Compare runs · pipeline-recorder", "compare.js", True, True),
    "/runs/no-such-run": (404, "No such run · pipeline-recorder", "no-run.js", True, False),
}


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_served_whole_with_the_shared_head_and_header(server: tuple[str, str], path: str) -> None:
    url, run_id = server
    status, title, script, links_all_runs, needs_js = PAGES[path]
    answer = httpx.get(url + path.format(run_id=run_id))
    assert answer.status_code == status and answer.headers["content-type"] == "text/html; charset=utf-8"
    for name, value in PAGE_HEADERS.items():
        assert answer.headers[name] == value
    assert int(answer.headers["content-length"]) == len(answer.content)
    text = answer.text
    assert "{%" not in text and "{{" not in text and "{#" not in text  # rendered, not the template
    page = Elements(text)
    assert page.doctype == "doctype html" and page.title == title
    head = [(tag, attrs) for tag, attrs, within in page.tags if within == ("html", "head")]
    assert head == [("meta", {"charset": "utf-8"}),
                    ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
                    ("title", {}),
                    ("link", {"rel": "stylesheet", "href": "/static/app.css"}),
                    ("link", {"rel": "icon", "href": "/static/favicon.svg", "type": "image/svg+xml"}),
                    ("script", {"type": "module", "src": f"/static/{script}"})]
    body = [(tag, attrs) for tag, attrs, within in page.tags if within == ("html", "body")]
    assert body[0] == ("a", {"class": "skip-link", "href": "#main", "data-i18n": "nav.skip"})
    assert body[1] == ("header", {"class": "site-header"})
    assert [attrs.get("id") for tag, attrs in body if tag == "main"] == ["main"]  # the skip link's target, once
    in_header = [attrs for tag, attrs, within in page.tags if within == ("html", "body", "header")]
    all_runs = [{"href": "/", "data-i18n": "nav.runs"}] if links_all_runs else []  # the runs page has no link to itself
    assert in_header == [{"class": "brand", "href": "/"}, *all_runs]
    assert bool(page.find("noscript")) is needs_js


def test_the_runs_filters_made_by_one_macro_keep_their_fields(server: tuple[str, str]) -> None:
    page = Elements(httpx.get(server[0] + "/").text)
    text = {"type": "text", "autocomplete": "off", "spellcheck": "false"}
    when = {"type": "datetime-local", "step": "1"}
    for tag, field, name, more in [("select", "config", "config_name", {}), ("input", "user", "user_id", text),
                                   ("select", "status", "status", {}), ("input", "since", "since", when),
                                   ("input", "until", "until", when),
                                   ("input", "kind", "kind", {**text, "maxlength": "64"}),
                                   ("input", "session", "session_id", {**text, "maxlength": "128"}),
                                   ("input", "device", "device_id", {**text, "maxlength": "128"}),
                                   ("input", "tag", "tag", {**text, "maxlength": "64"})]:
        [(_, attrs, within)] = page.find(tag, id=f"filter-{field}")
        assert attrs == {"id": f"filter-{field}", "name": name, **more}
        assert within[-2:] == ("form", "div")
        assert page.find("label", for_=f"filter-{field}", data_i18n=f"filters.{field}")
    assert len(page.find("div", **{"class": "field when"})) == 2
    for field in ("config", "status"):  # each choice holds "any" (runs.js adds the others)
        at = next(i for i, (tag, attrs, _) in enumerate(page.tags) if attrs.get("id") == f"filter-{field}")
        assert page.tags[at + 1][:2] == ("option", {"value": "", "data-i18n": "filters.any"})


def test_the_run_pages_two_token_forms_made_by_one_macro_keep_their_ids(server: tuple[str, str]) -> None:
    url, run_id = server
    page = Elements(httpx.get(f"{url}/runs/{run_id}").text)
    for prefix, texts in [("download", "download"), ("session-export", "sessionExport")]:
        assert page.find("p", id=f"{prefix}-message", role="status", aria_live="polite")
        assert page.find("p", id=f"{prefix}-error", role="alert")
        [(_, form, _)] = page.find("form", id=f"{prefix}-token-form")
        assert "hidden" in form
        assert page.find("label", for_=f"{prefix}-token", data_i18n=f"{texts}.tokenLabel")
        [(_, token, within)] = page.find("input", id=f"{prefix}-token")
        assert token["type"] == "password" and "required" in token and within[-1] == "form"
        assert page.find("button", type="submit", data_i18n=f"{texts}.withToken")


def _viewer(tmp_path: Path) -> Pages:
    root, templates, outside = tmp_path / "static", tmp_path / "templates", tmp_path / "outside"
    for folder in (root, templates, outside):
        folder.mkdir()
    (templates / "frame.html").write_text("<p>{% block main %}{% endblock %}</p>\n")
    (root / "page.html").write_text('{% extends "frame.html" %}{% block main %}first{% endblock %}')
    (outside / "secret.html").write_text("secret")
    (root / "link.html").symlink_to(outside / "secret.html")
    return Pages(root, templates)


def test_a_page_is_rendered_once_and_kept(tmp_path: Path) -> None:
    pages = _viewer(tmp_path)
    first = pages.static("page.html")
    assert first.body == b"<p>first</p>\n" and first.headers["Content-Security-Policy"]
    (tmp_path / "static" / "page.html").write_text('{% extends "frame.html" %}{% block main %}second{% endblock %}')
    assert pages.page("page.html", status=404).body == b"<p>first</p>\n"  # kept: not read or rendered again
    assert Pages(tmp_path / "static", tmp_path / "templates").static("page.html").body == b"<p>second</p>\n"


def test_a_page_linked_out_of_the_folder_is_not_found_nor_rendered(tmp_path: Path) -> None:
    pages = _viewer(tmp_path)
    with pytest.raises(PageNotFoundError):
        pages.static("link.html")
    with pytest.raises(PageNotFoundError):
        pages.static("missing.html")
