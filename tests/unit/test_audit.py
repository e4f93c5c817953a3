"""The audit trail: CADF events for hosts created, removed, enrollments
refused and suspicious notifications, on the bus and in the audit log."""
import json
import logging

import pytest
from oslo_context import context
from pycadf import event as cadf_event

from novajoin import audit
from novajoin import conf as conf_pkg
from novajoin.notify import handlers
from novajoin.notify import reconcile
from novajoin.validation import VendordataRequest
from tests.unit.conftest import INSTANCE
from tests.unit.conftest import PROJECT
from tests.unit.conftest import body
from tests.unit.notify import payloads
from tests.unit.notify.conftest import StubServers
from tests.unit.notify.conftest import enroll  # noqa: F401 - fixtures
from tests.unit.notify.conftest import fip_dns  # noqa: F401
from tests.unit.notify.conftest import floating_ips  # noqa: F401
from tests.unit.notify.conftest import host_ops  # noqa: F401
from tests.unit.notify.conftest import ipa  # noqa: F401
from tests.unit.notify.conftest import network  # noqa: F401
from tests.unit.notify.conftest import zones  # noqa: F401


class Notifier:
    """Stands in for oslo.messaging's Notifier: keeps what it was given."""

    def __init__(self, fail=None):
        self.sent = []
        self.fail = fail

    def info(self, ctxt, event_type, payload):
        if self.fail:
            raise self.fail
        json.dumps(payload)                  # it must travel as JSON
        self.sent.append((ctxt, event_type, payload))


@pytest.fixture
def bus():
    return Notifier()


@pytest.fixture
def auditor(bus):
    return audit.Auditor(bus, 'novajoin-test')


def events(bus, event_type=None):
    return [payload for _, kind, payload in bus.sent
            if event_type is None or kind == event_type]


def test_a_created_host_is_a_cadf_create_success_by_the_caller(
        make_enroller, auditor, bus, fake_ipa):
    ctx = context.RequestContext(user_id='nova-id', user_name='nova',
                                 project_id='service-id')
    answer = make_enroller(audit=auditor).handle(
        VendordataRequest.from_json(body()))
    [payload] = events(bus, 'novajoin.host.created')
    assert payload['typeURI'] == cadf_event.TYPE_URI_EVENT
    assert (payload['action'], payload['outcome']) == ('create', 'success')
    assert payload['target']['name'] == 'vm1.example.test'
    assert payload['target']['id'] == INSTANCE
    assert payload['target']['project_id'] == PROJECT
    assert payload['initiator']['id'] == 'nova-id'
    assert payload['observer']['typeURI'] == 'service/security'
    assert bus.sent[0][0]['request_id'] == ctx.request_id
    assert answer['ipaotp'] not in json.dumps(bus.sent)
    # a repeated fetch creates nothing: no event
    make_enroller(audit=auditor).handle(VendordataRequest.from_json(body()))
    assert len(events(bus)) == 1


def test_a_refused_enrollment_is_a_cadf_create_failure_with_the_status(
        make_enroller, auditor, bus, fake_ipa):
    make_enroller().handle(VendordataRequest.from_json(body()))
    squatter = VendordataRequest.from_json(body(**{
        'instance-id': '11111111-2222-4333-8444-555555555555'}))
    with pytest.raises(handlers.host_errors.Conflict):
        make_enroller(audit=auditor).handle(squatter)
    [payload] = events(bus, 'novajoin.enrollment.refused')
    assert (payload['action'], payload['outcome']) == ('create', 'failure')
    assert payload['reason'] == {'reasonType': 'HTTP', 'reasonCode': '409'}
    assert payload['target']['id'] == '11111111-2222-4333-8444-555555555555'
    with pytest.raises(handlers.host_errors.Refused):
        make_enroller(audit=auditor, required_boot_roles=['admin']).handle(
            VendordataRequest.from_json(body()))
    assert [p['reason']['reasonCode'] for p in
            events(bus, 'novajoin.enrollment.refused')] == ['409', '403']


def test_a_removed_host_and_a_suspicious_delete_are_events(
        host_ops, floating_ips, enroll, auditor, bus):
    nova = StubServers()
    table = handlers.Handlers(host_ops, floating=floating_ips, servers=nova,
                              audit=auditor)
    fqdn = enroll(payloads.NOVA_INSTANCE, 'vm1')
    nova.status[payloads.NOVA_INSTANCE] = 'ACTIVE'
    table.handle('instance.delete.end', payloads.nova('instance.delete.end'),
                 publisher='nova-compute:evil-1')
    [suspicious] = events(bus, 'novajoin.notification.suspicious')
    assert (suspicious['action'], suspicious['outcome']) == ('delete', 'failure')
    assert suspicious['initiator']['name'] == 'nova-compute:evil-1'
    del nova.status[payloads.NOVA_INSTANCE]
    table.handle('instance.delete.end', payloads.nova('instance.delete.end'),
                 publisher='nova-compute:c1')
    [removed] = events(bus, 'novajoin.host.removed')
    assert (removed['action'], removed['outcome']) == ('delete', 'success')
    assert removed['target']['name'] == fqdn


def test_the_reconciler_reports_what_it_removes(host_ops, enroll, auditor, bus):
    fqdn = enroll(payloads.NOVA_INSTANCE, 'vm1')
    reconcile.Reconciler(host_ops, StubServers(), grace=0,
                         audit=auditor).run(dry_run=True)
    assert events(bus) == []                     # a dry run changes nothing
    reconcile.Reconciler(host_ops, StubServers(), grace=0,
                         audit=auditor).run()
    [removed] = events(bus, 'novajoin.host.removed')
    assert removed['target']['name'] == fqdn
    assert removed['initiator']['name'] == 'novajoin-reconcile'


def test_a_broker_that_fails_costs_the_audit_log_nothing(caplog):
    auditor = audit.Auditor(Notifier(fail=OSError('broker down')), 'novajoin-test')
    with caplog.at_level(logging.INFO, logger='novajoin.audit'):
        auditor.host_removed('vm1.example.test', INSTANCE, 'nova-compute:c1')
    assert 'novajoin.host.removed' in caplog.text and 'vm1.example.test' in caplog.text
    assert 'not sent: broker down' in caplog.text


def test_the_bus_is_used_when_a_notification_driver_is_set():
    c = conf_pkg.new_conf()
    c([], project='novajoin', default_config_files=[])
    assert audit.from_conf(c, 'novajoin-test').notifier is None   # the log alone
    c.set_override('transport_url', 'fake://')
    c.set_override('driver', ['messagingv2'], group='oslo_messaging_notifications')
    assert audit.from_conf(c, 'novajoin-test').notifier is not None
