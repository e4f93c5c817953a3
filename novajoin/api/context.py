"""The oslo.context ``RequestContext`` of the request being served.

Made once per request, after keystonemiddleware has set the identity headers,
from the WSGI environ (request ids from oslo.middleware's ``RequestId``). It
is oslo.context's current context for the serving thread, so oslo.log shows
its request ids on every line of the request, and it gives oslo.policy its
credentials (``to_policy_values``: ids, domains and roles; never names).
"""
import flask
from oslo_context import context


def bind():
    """Make the current request's context (a Flask ``before_request`` hook)."""
    flask.g.context = context.RequestContext.from_environ(flask.request.environ)


def current():
    return flask.g.context


def caller(ctx):
    """Who called, for logs and the audit trail (names are for people: ids
    are what is trusted)."""
    return '%s@%s' % (ctx.user_name, ctx.project_name)
