"""Why a host request is refused: a rule (403) or a name taken (409)."""


class Refused(Exception):
    """A rule forbids this request (HTTP 403)."""


class Conflict(Exception):
    """A name belongs to something this instance or project does not own (409)."""
