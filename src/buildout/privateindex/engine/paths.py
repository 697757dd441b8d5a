"""Where things are in an index directory (names only: imported by every build)."""

from __future__ import annotations

__all__ = ["PROJECTS_DIR", "project_page_name"]

#: The pages for people, one per project.
PROJECTS_DIR = "projects"


def project_page_name(project: str) -> str:
    """The project page's path relative to the index directory (``projects/x.html``)."""
    return f"{PROJECTS_DIR}/{project}.html"
