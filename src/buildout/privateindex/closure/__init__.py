"""What an offline run needs: targets, resolution with uv, completion (pure)."""

__all__ = ["DEFAULT_INDEX_URL"]

#: The upstream ``add`` fetches from unless told (here, so that the command
#: line's help text needs no import of the fetching machinery).
DEFAULT_INDEX_URL = "https://pypi.org/simple/"
