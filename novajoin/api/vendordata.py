"""POST /v1/: nova's DynamicJSON vendordata call.

Guarantees: the caller is checked (keystonemiddleware, then oslo.policy
``join:create``) before a byte of the body is read; the body is read at most
``validation.MAX_BODY`` + 1 bytes, whatever Content-Length or chunking says,
and anything oversized, too deeply nested, not JSON or of the wrong types is
a 400 naming the problem (``validation.BadRequest``), never a 500, before
anything is sent to IPA.
"""
import logging
import time

import flask

from novajoin import metrics
from novajoin import policy
from novajoin.api.responses import error_response
from novajoin import validation
from novajoin.api import context
from novajoin.api import worker
from novajoin.validation import BadRequest
from novajoin.validation import VendordataRequest

LOG = logging.getLogger(__name__)
MAX_BODY = validation.MAX_BODY
_CHUNK = 64 * 1024

blueprint = flask.Blueprint('vendordata', __name__)


def _ext():
    return flask.current_app.extensions['novajoin']


@blueprint.route('/v1/', methods=['POST'])
@blueprint.route('/v1', methods=['POST'])
def create():
    environ = flask.request.environ
    if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
        metrics.REQUESTS.labels(outcome='unauthorized').inc()
        return error_response(401, 'a valid keystone token is required')
    ctx = context.current()
    if not _ext()['enforcer'].enforce('join:create', {},
                                      policy.credentials(ctx)):
        metrics.REQUESTS.labels(outcome='forbidden').inc()
        # ids as well as names: a same-named user of another domain must be
        # told apart in the audit trail.
        LOG.warning('policy join:create refused user %s (id %s, domain %s) '
                    'of project %s (id %s, domain %s), roles %s',
                    ctx.user_name, ctx.user_id, ctx.user_domain_id,
                    ctx.project_name, ctx.project_id, ctx.project_domain_id,
                    ','.join(ctx.roles))
        return error_response(403, 'policy join:create does not allow this caller')
    req = VendordataRequest.from_json(_json_body())
    arrived = worker.arrived_at()
    if arrived is not None:
        metrics.REQUEST_WAIT.observe(time.monotonic() - arrived)
    answer = _ext()['enroller'].handle(req, caller=context.caller(ctx),
                                       arrived=arrived)
    metrics.REQUESTS.labels(outcome='enrolled' if answer else 'not_enrolling'
                            ).inc()
    LOG.info('instance %s (%s): %s', req.instance_id, req.hostname,
             'host %s%s' % (answer['hostname'], '' if 'ipaotp' in answer
                            else ', already enrolled') if answer
             else 'not enrolling')
    return flask.jsonify(answer)


def _json_body():
    length = flask.request.content_length
    if length is not None and length > MAX_BODY:
        raise BadRequest('body too large (%d bytes; at most %d)'
                         % (length, MAX_BODY))
    # Read through the stream, bounded: a chunked body has no length to
    # check first, and get_data() would load all of it into memory.
    stream = flask.request.stream
    chunks, size = [], 0
    while size <= MAX_BODY:
        chunk = stream.read(min(_CHUNK, MAX_BODY + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return validation.parse_json_body(b''.join(chunks))
