"""The set-up tool's own error."""


class SetupError(Exception):
    """The set-up cannot go on; the message says what to do."""
