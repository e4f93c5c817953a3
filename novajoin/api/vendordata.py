"""POST /v1/: nova's DynamicJSON vendordata call."""
import json
import logging

import flask

from novajoin import metrics
from novajoin import policy
from novajoin.api.responses import error_response
from novajoin.validation import BadRequest
from novajoin.validation import VendordataRequest

LOG = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024  # nova's body is small; user-data is at most 64 KiB

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
    creds = policy.credentials_from_environ(environ)
    if not _ext()['enforcer'].enforce('join:create', {}, creds):
        metrics.REQUESTS.labels(outcome='forbidden').inc()
        LOG.warning('policy join:create refused user %s of project %s',
                    creds['user_name'], creds['project_name'])
        return error_response(403, 'policy join:create does not allow this caller')
    req = VendordataRequest.from_json(_json_body())
    caller = '%s@%s' % (creds['user_name'], creds['project_name'])
    answer = _ext()['enroller'].handle(req, caller=caller)
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
        raise BadRequest('body too large (%d bytes)' % length)
    raw = flask.request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise BadRequest('body too large (%d bytes)' % len(raw))
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest('body is not valid JSON: %s' % exc)
