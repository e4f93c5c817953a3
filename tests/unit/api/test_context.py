"""Request ids: every answer carries one, every log line of the request shows
it (and a caller's valid one as the global id), policy sees ids, not names."""
import logging
import re
import uuid

import pytest
from oslo_config import cfg
from oslo_context import context
from oslo_log import formatters
from oslo_log import log

from tests.unit.conftest import body

REQ_ID = re.compile(r'req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')


class Recording:
    """An Enroller stand-in that notes the context it runs under and logs."""

    def __init__(self):
        self.seen = []

    def handle(self, req, caller='unknown', arrived=None):
        self.seen.append((context.get_current(), caller))
        logging.getLogger('novajoin.join').info('enrolling %s', req.instance_id)
        return {}


@pytest.fixture
def oslo_lines():
    """Log lines as oslo.log formats them in the service."""
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    conf([])
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))
    handler = Keep()
    handler.setFormatter(formatters.ContextFormatter(project='novajoin',
                                                     config=conf))
    root = logging.getLogger('novajoin')
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old)


def test_every_answer_carries_a_new_request_id(make_client):
    client = make_client(enroller=Recording())
    ids = [client.post('/v1/', json=body()).headers['x-openstack-request-id'],
           client.get('/healthcheck').headers['x-openstack-request-id'],
           client.post('/v1/', data=b'{').headers['x-openstack-request-id']]
    assert all(REQ_ID.fullmatch(i) for i in ids) and len(set(ids)) == 3


def test_every_log_line_of_a_request_shows_its_ids(make_client, oslo_lines):
    recording = Recording()
    nova_id = 'req-%s' % uuid.uuid4()
    resp = make_client(enroller=recording).post(
        '/v1/', json=body(), headers={'X-OpenStack-Request-ID': nova_id})
    ours = resp.headers['x-openstack-request-id']
    ctx, caller = recording.seen[0]
    assert (ctx.request_id, ctx.global_request_id) == (ours, nova_id)
    assert caller == 'nova@service'
    mine = [line for line in oslo_lines if ours in line]
    assert any('enrolling' in line for line in mine)
    assert any('not enrolling' in line for line in mine)   # the view's line
    assert all('[%s %s ' % (nova_id, ours) in line for line in mine)


@pytest.mark.parametrize('sent', ['req-%sx' % uuid.uuid4(), 'not-an-id',
                                  'req-%s' % str(uuid.uuid4()).upper()])
def test_a_malformed_caller_id_is_not_adopted(make_client, sent):
    recording = Recording()
    make_client(enroller=recording).post(
        '/v1/', json=body(), headers={'X-OpenStack-Request-ID': sent})
    assert recording.seen[0][0].global_request_id is None
