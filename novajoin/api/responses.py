"""JSON error bodies in the shape OpenStack services use."""
import flask

_TITLES = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
           404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
           413: 'Payload Too Large', 500: 'Internal Server Error',
           502: 'Bad Gateway', 503: 'Service Unavailable'}


def error_response(status, message):
    body = {'error': {'code': status, 'title': _TITLES.get(status, 'Error'),
                      'message': message}}
    return flask.jsonify(body), status
