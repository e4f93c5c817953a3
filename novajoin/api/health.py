"""GET /metrics (Prometheus), no authentication.

GET /healthcheck is not a Flask route: oslo.middleware's Healthcheck answers
it in front of auth (``middleware.Healthcheck``, options in [healthcheck]).
"""
import flask

from novajoin import metrics

blueprint = flask.Blueprint('health', __name__)


@blueprint.route('/metrics', methods=['GET'])
def prometheus():
    body, content_type = metrics.exposition()
    return flask.Response(body, content_type=content_type)
