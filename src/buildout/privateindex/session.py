"""What the extension and the recipe share during one buildout run.

The extension attaches a :class:`Session` to the buildout object; recipes find
it there.  Kept free of heavy imports: it loads with every extension call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from buildout.privateindex.sharing.location import IndexLocation

ATTRIBUTE = "_buildout_privateindex_session"
MODES = ("auto", "pin", "off")


@dataclass
class Session:
    """The state of one run: the mode, the pinned index, what was used."""

    mode: str = "auto"
    #: The index this run is pinned to, or None when not pinned.
    location: IndexLocation | None = None
    #: The index buildout would have used without the extension (None: PyPI).
    upstream: str | None = None
    #: Every distribution this run resolved: normalized project -> version.
    used: dict[str, str] = field(default_factory=dict)
    #: What buildout was asked to install (recipes, parts' eggs), as written.
    roots: list[str] = field(default_factory=list)
    #: Develop distributions this run used: normalized project -> (location,
    #: its requirements as evaluated for this machine).
    develop: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    #: Distributions fetched this run: (project, version, where from).
    fetched: list[tuple[str, str, str]] = field(default_factory=list)
    #: Recipe instances of this buildout, rebuilt when the run ends.
    recipes: list[Any] = field(default_factory=list)
    #: Undo actions, run in reverse order by the unload hook.
    undo: list[Callable[[], None]] = field(default_factory=list)

    @property
    def pinned(self) -> bool:
        return self.location is not None

    def restore(self) -> None:
        while self.undo:
            self.undo.pop()()


def get_session(buildout: Any) -> Session | None:
    """The session attached to ``buildout``, or None when the extension is not in use."""
    session = getattr(buildout, ATTRIBUTE, None)
    return session if isinstance(session, Session) else None


def attach_session(buildout: Any, session: Session) -> None:
    setattr(buildout, ATTRIBUTE, session)
