"""oslo.policy rules of the API: the default, and what a rule can see."""
from oslo_context import context

from novajoin import policy
from tests.unit.api.test_vendordata import NOVA


def test_default_rule_is_the_service_role():
    assert [r.check_str for r in policy.list_rules()] == ['role:service']


def test_policy_credentials_are_ids_domains_and_roles_never_names():
    creds = policy.credentials(context.RequestContext.from_environ(NOVA))
    assert (creds['user_id'], creds['user_domain_id'], creds['project_id'],
            creds['project_domain_id'], creds['roles']) == (
        'nova-id', 'default', 'service-id', 'default', ['admin', 'service'])
    assert creds['domain_id'] is None
    assert not {'user_name', 'project_name', 'user_domain_name',
                'project_domain_name'} & set(creds)


def test_the_enforcer_knows_the_default_without_a_policy_file(conf):
    enforcer = policy.enforcer(conf)
    service = policy.credentials(context.RequestContext(roles=['service']))
    admin = policy.credentials(context.RequestContext(roles=['admin', 'member']))
    assert enforcer.enforce('join:create', {}, service)
    assert not enforcer.enforce('join:create', {}, admin)
