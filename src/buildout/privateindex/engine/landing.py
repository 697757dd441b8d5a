"""Render the pages for people: the landing page and one page per project.

``DIR/index.html`` lists every project as one table row (name, latest
version, number of files, total size, summary) under a filter box; each row
links the project's page, ``DIR/projects/<project>.html``, which lists its
versions and files.  Both are pure functions of their arguments (no clock;
the input order never matters) and every text is HTML-escaped.

The pages need nothing from the network: their style and the filter's script
are inline, and a Content-Security-Policy allows exactly those (by hash) and
nothing else.  Without JavaScript the filter box stays hidden and the list is
a plain table.  The project pages are plain ``.html`` files outside
``simple/``: no PEP 503 URL (a directory, ending in ``/``) leads to one, and
they carry no repository-version meta, so no installer takes them for an
index page.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote

from packaging.utils import canonicalize_name

from buildout.privateindex.engine.paths import project_page_name
from buildout.privateindex.engine.render import (
    PageFile,
    _distinct_versions,
    _e,
    _html,
    _version_key,
    humanize_size,
    upload_time,
)

__all__ = [
    "BLOCK",
    "landing_chunks",
    "landing_html",
    "landing_row",
    "project_page",
]

#: The directory of the project pages, next to ``simple/``.
_TITLE = "Private package index"

#: Rows per block of the landing page (see :func:`landing_chunks`).
BLOCK = 100
_CSS = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}"
    ".summary{color:#555}.yanked{color:#a00}code{font-size:.95em}"
    "#filter{font-size:1em;padding:.3em;width:min(30em,100%)}"
    # The landing page: blocks of rows, laid out only when on screen.
    "#projects table{table-layout:fixed;width:100%;margin:0}"
    "#projects td{overflow-wrap:anywhere}#projects thead th{border-bottom:0}"
    "#projects tr>*:nth-child(1){width:22%}#projects tr>*:nth-child(2){width:10%}"
    "#projects tr>*:nth-child(3){width:4em}#projects tr>*:nth-child(4){width:6em}"
    f".b{{content-visibility:auto;contain-intrinsic-size:auto {BLOCK * 28}px}}"
)
#: Filters the rows as one types: every word must appear in the name or the
#: summary (case-insensitive; ``-``, ``_`` and ``.`` are alike, as in names).
#: A block left without rows is hidden, so that it takes no room.
_SCRIPT = (
    "(function(){"
    'var box=document.getElementById("filter"),shown=document.getElementById("shown"),'
    'rows=document.querySelectorAll("#projects .b tr"),'
    'blocks=document.querySelectorAll("#projects .b"),keys=null;'
    'function norm(s){return s.toLowerCase().replace(/[-_.]+/g,"-")}'
    "function apply(){"
    "var i,j,ok,n=0,words=norm(box.value).split(/\\s+/).filter(Boolean);"
    "if(!keys){keys=[];for(i=0;i<rows.length;i++)"
    'keys.push(norm(rows[i].cells[0].textContent+" "+rows[i].cells[4].textContent))}'
    "for(i=0;i<rows.length;i++){"
    "for(ok=true,j=0;ok&&j<words.length;j++)ok=keys[i].indexOf(words[j])>=0;"
    "rows[i].hidden=!ok;if(ok)n++}"
    'for(i=0;i<blocks.length;i++)blocks[i].hidden=!blocks[i].querySelector("tr:not([hidden])");'
    'shown.textContent=words.length?n+" of "+rows.length+" projects shown":""}'
    'box.hidden=false;box.addEventListener("input",apply);'
    'window.addEventListener("pageshow",function(){if(box.value)apply()})'
    "})();"
)


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@functools.cache  # the same two texts, once per page otherwise
def _csp(script: bool) -> str:
    """Allow the inline style (and script) by hash, nothing else at all."""
    scripts = f" script-src {_digest(_SCRIPT)};" if script else ""
    policy = f"default-src 'none'; style-src {_digest(_CSS)};{scripts} base-uri 'none'"
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def _newest_first(files: Iterable[PageFile]) -> list[PageFile]:
    by_name = sorted(files, key=lambda f: (f.dist.filename, f.url, f.dist.sha256))
    return sorted(by_name, key=lambda f: _version_key(f.dist.version), reverse=True)


def _latest(newest: Sequence[PageFile]) -> str:
    """The newest version of files sorted newest first, preferring final
    releases that are not yanked."""
    for page_file in newest:
        valid, version, _ = _version_key(page_file.dist.version)
        if page_file.yanked is None and valid and not version.is_prerelease:
            return page_file.dist.version
    return newest[0].dist.version if newest else ""


def _describe(project: str, newest: Sequence[PageFile]) -> tuple[str, str, str]:
    """Display name, latest version and summary of a project, from its files
    sorted newest first."""
    name = newest[0].dist.name if newest else project
    summary = next((f.dist.summary for f in newest if f.dist.summary), "")
    return name, _latest(newest), summary


def _same_version(version: str) -> object:
    """What equal versions (``1.0``, ``1.0.0``) have in common."""
    valid, parsed, _ = _version_key(version)
    return parsed if valid else version


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def landing_row(project: str, files: Sequence[PageFile]) -> str:
    """The landing page's row for one (normalized) project: a line of HTML."""
    name, latest, summary = _describe(project, _newest_first(files))
    href = quote(project_page_name(project))
    size = humanize_size(sum(f.dist.size for f in files))
    return (
        f'<tr id="{_e(project)}"><td><a href="{_e(href)}">{_e(name)}</a></td>'
        f'<td>{_e(latest)}</td><td class="n">{len(files)}</td><td class="n">{_e(size)}</td>'
        f'<td class="summary">{_e(summary)}</td></tr>\n'
    )


_BLOCK_START = '<div class="b"><table><tbody>\n'
_BLOCK_END = "</tbody></table></div>\n"


def landing_chunks(projects: int, files: int, size: int, rows: Iterable[str]) -> Iterator[str]:
    """The landing page, in pieces: a heading with the totals, the ``rows``, the script.

    The rows go in blocks of :data:`BLOCK`, each a table of its own with the
    same fixed column widths, that the browser lays out only when it comes
    into view (``content-visibility: auto``): 5,000 rows then load in a
    fraction of the time one table of them takes.
    """
    totals = f"{_plural(projects, 'project')}, {_plural(files, 'file')}, "
    totals += f"{humanize_size(size)} in total."
    body = [
        f"<h1>{_TITLE}</h1>",
        f'<p class="totals">{_e(totals)}</p>',
        '<p>Simple index for installers: <a href="simple/">simple/</a></p>',
        '<p><input type="search" id="filter" placeholder="Filter projects"'
        ' aria-label="Filter projects" autocomplete="off" hidden>'
        ' <span id="shown" aria-live="polite"></span></p>',
        '<div id="projects">',
        "<table><thead><tr><th>Project</th><th>Latest</th><th>Files</th><th>Size</th>"
        "<th>Summary</th></tr></thead></table>",
        "@ROWS@",
        "</div>",
        f"<script>{_SCRIPT}</script>",
    ]
    page = _html(_TITLE, body, head=[_csp(script=True), f"<style>{_CSS}</style>"])
    start, end = page.split("    @ROWS@\n")
    yield start
    n = 0
    for n, row in enumerate(rows, 1):
        if (n - 1) % BLOCK == 0:
            yield _BLOCK_START if n == 1 else _BLOCK_END + _BLOCK_START
        yield row
    if n:
        yield _BLOCK_END
    yield end


def landing_html(projects: Mapping[str, Sequence[PageFile]]) -> str:
    """The whole landing page (``DIR/index.html``), for projects with their files."""
    grouped: dict[str, list[PageFile]] = {}
    for project, files in projects.items():
        grouped.setdefault(canonicalize_name(project), []).extend(files)
    n_files = sum(len(files) for files in grouped.values())
    total = sum(f.dist.size for files in grouped.values() for f in files)
    rows = [landing_row(project, grouped[project]) for project in sorted(grouped)]
    return "".join(landing_chunks(len(grouped), n_files, total, rows))


def _file_href(project: str, page_file: PageFile) -> str:
    """Where the project page (in ``projects/``) links a file: its copy in ``simple/``."""
    if ":" in page_file.url:  # files served elsewhere (--base-url): a quoted name has no ":"
        return page_file.url
    return f"../simple/{quote(project)}/{page_file.url}"


def _upload(page_file: PageFile) -> str:
    when = page_file.upload_time_ns
    iso = upload_time(page_file.dist.mtime_ns if when is None else when)
    return f'<time datetime="{iso}">{iso[:10]} {iso[11:19]}</time>'


def _file_rows(project: str, newest: Sequence[PageFile], versions: list[str]) -> list[str]:
    rows: list[str] = []
    groups: dict[object, list[PageFile]] = {}
    for page_file in newest:  # each group newest first too
        groups.setdefault(_same_version(page_file.dist.version), []).append(page_file)
    for version in versions[::-1]:
        group = groups[_same_version(version)]
        for i, page_file in enumerate(group):
            dist = page_file.dist
            cells = []
            if i == 0:
                span = f' rowspan="{len(group)}"' if len(group) > 1 else ""
                cells.append(f"<td{span}>{_e(version)}</td>")
            yanked = ""
            if page_file.yanked is not None:
                reason = f": {page_file.yanked}" if page_file.yanked else ""
                yanked = f'<span class="yanked">yanked{_e(reason)}</span>'
            cells += [
                f'<td><a href="{_e(_file_href(project, page_file))}">{_e(dist.filename)}</a></td>',
                f'<td class="n">{_e(humanize_size(dist.size))}</td>',
                f"<td><code>{_e(dist.requires_python or '')}</code></td>",
                f"<td>{_upload(page_file)}</td>",
                f"<td>{yanked}</td>",
            ]
            rows.append(f"<tr>{''.join(cells)}</tr>")
    return rows


def project_page(project: str, files: Sequence[PageFile]) -> str:
    """The page for people about one (normalized) project: ``projects/<project>.html``."""
    newest = _newest_first(files)
    name, latest, summary = _describe(project, newest)
    versions = _distinct_versions(f.dist.version for f in files)
    size = humanize_size(sum(f.dist.size for f in files))
    facts = f"Latest version {latest}; {_plural(len(versions), 'version')}, "
    facts += f"{_plural(len(files), 'file')}, {size}."
    body = [
        f"<h1>{_e(name)}</h1>",
        *([f'<p class="summary">{_e(summary)}</p>'] if summary else []),
        f"<p>{_e(facts)}</p>",
        f'<p>Simple index page: <a href="../simple/{_e(quote(project))}/">'
        f"simple/{_e(project)}/</a></p>",
        "<table>",
        "<thead><tr><th>Version</th><th>File</th><th>Size</th><th>Requires-Python</th>"
        "<th>Uploaded (UTC)</th><th>Yanked</th></tr></thead>",
        "<tbody>",
        *_file_rows(project, newest, versions),
        "</tbody>",
        "</table>",
    ]
    head = [_csp(script=False), f"<style>{_CSS}</style>"]
    return _html(f"{name} - {_TITLE}", body, head=head)
