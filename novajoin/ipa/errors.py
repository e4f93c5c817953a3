"""IPA errors, mapped from the JSON-RPC error code.

IPA answers HTTP 200 with ``"error": {"code", "name", "message", "data"}``; the
transport failures (no server reachable, 5xx, authentication) are
``IPAUnavailable`` -- transient, worth a retry later.
"""

__all__ = ['IPAError', 'IPAUnavailable', 'IPABusy', 'IPAAuthError', 'IPACommandError',
           'NotFound', 'DuplicateEntry', 'EmptyModlist', 'AttrValueNotFound',
           'AlreadyInactive', 'ACIError', 'ValidationError', 'InternalError',
           'from_error']


class IPAError(Exception):
    """Base of every failure of an IPA call."""
    transient = False


class IPAUnavailable(IPAError):
    """No IPA server answered usefully (connection, timeout, HTTP 5xx, busy).
    ``may_have_run``: the request may have reached IPA, which may have run
    it (an answer lost or a 5xx), as opposed to never having been sent."""
    transient = True
    may_have_run = False


class IPABusy(IPAUnavailable):
    """Not sent: the call could not get an IPA slot in time (load shed)."""


class IPAAuthError(IPAUnavailable):
    """IPA refused novajoin's credentials (keytab, password, expired ticket)."""


class IPACommandError(IPAError):
    """IPA ran the command and answered with an error. ``resent``: the
    answer is to a request sent again after an attempt IPA may have run
    (e.g. a NotFound of a host_del whose first answer was lost)."""
    code = None
    resent = False

    def __init__(self, message, code=None, name=None, data=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.name = name or type(self).__name__
        self.data = data or {}

    def __str__(self):
        return '%s (%s %s)' % (self.message, self.code, self.name)


class NotFound(IPACommandError):
    code = 4001


class DuplicateEntry(IPACommandError):
    code = 4002


class EmptyModlist(IPACommandError):
    code = 4202


class AttrValueNotFound(IPACommandError):
    code = 4026


class AlreadyInactive(IPACommandError):
    code = 4010


class ACIError(IPACommandError):
    code = 2100


class ValidationError(IPACommandError):
    code = 3009


class InternalError(IPACommandError):
    # ipaserver's catch-all for uncaught exceptions, e.g. a DNS resolver error.
    code = 903
    transient = True


_BY_CODE = {cls.code: cls for cls in (NotFound, DuplicateEntry, EmptyModlist,
                                      AttrValueNotFound, AlreadyInactive,
                                      ACIError,
                                      ValidationError, InternalError)}


def from_error(code, name=None, message=None, data=None):
    """The exception for an IPA error object (or a batch item's error)."""
    cls = _BY_CODE.get(code, IPACommandError)
    return cls(message or name or 'IPA error', code=code, name=name, data=data)
