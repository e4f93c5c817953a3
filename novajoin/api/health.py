"""GET /healthcheck and GET /metrics: no authentication."""
import flask

from novajoin import metrics

blueprint = flask.Blueprint('health', __name__)


@blueprint.route('/healthcheck', methods=['GET', 'HEAD'])
def healthcheck():
    # Liveness only: an IPA outage must not take novajoin out of a load
    # balancer, its 503s tell nova what is wrong.
    return flask.jsonify({'status': 'ok'})


@blueprint.route('/metrics', methods=['GET'])
def prometheus():
    body, content_type = metrics.exposition()
    return flask.Response(body, content_type=content_type)
