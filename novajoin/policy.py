"""oslo.policy rules of the API.

Guarantee: ``join:create`` (POST /v1/) by default admits a token only for
what keystone says the caller *is* — the ``service`` role, which only a
cloud administrator can grant — never for what the caller is *called*. A
user named ``nova`` in a project named ``service`` of any other keystone
domain, without the role, is refused (403).

The caller's credentials are taken only from the headers keystonemiddleware
sets after validating the token (it strips client-sent copies first), so
ids, names, domains and roles can all be used in an operator's rule.
"""
from oslo_policy import policy

DEFAULT_CREATE = 'role:service'

RULES = [
    policy.DocumentedRuleDefault(
        name='join:create',
        check_str=DEFAULT_CREATE,
        description=(
            "Ask novajoin to enroll an instance in IPA (nova's DynamicJSON "
            "vendordata call, made with nova's [vendordata_dynamic_auth] "
            "identity). The default admits any token carrying keystone's "
            "'service' role, which devstack, kolla-ansible and TripleO give "
            "nova's service user on project 'service' of domain Default; "
            "names are never trusted. To admit nova alone, pin its user id: "
            "'role:service and user_id:<nova user id>' (optionally also "
            "'project_domain_id:default'). If nova's user lacks the service "
            "role (older deployments give only 'admin'), grant it: "
            "'openstack role add --user nova --user-domain Default "
            "--project service --project-domain Default service'."),
        operations=[{'path': '/v1/', 'method': 'POST'}]),
]


def list_rules():
    """Entry point for oslopolicy-sample-generator (namespace ``novajoin``)."""
    return RULES


def enforcer(conf):
    enf = policy.Enforcer(conf)
    enf.register_defaults(RULES)
    return enf


def credentials_from_environ(environ):
    """The caller as keystonemiddleware described it, for policy checks.

    Keys are the names oslo.policy rules use (``user_id:...``,
    ``project_domain_id:...``, ``role:...``); a header keystonemiddleware did
    not set (e.g. a domain-scoped token has no project) is ``None``.
    """
    def header(name):
        return environ.get('HTTP_X_' + name) or None
    roles = [r.strip() for r in (header('ROLES') or '').split(',') if r.strip()]
    return {'user_id': header('USER_ID'), 'user_name': header('USER_NAME'),
            'user_domain_id': header('USER_DOMAIN_ID'),
            'user_domain_name': header('USER_DOMAIN_NAME'),
            'project_id': header('PROJECT_ID'),
            'project_name': header('PROJECT_NAME'),
            'project_domain_id': header('PROJECT_DOMAIN_ID'),
            'project_domain_name': header('PROJECT_DOMAIN_NAME'),
            'domain_id': header('DOMAIN_ID'),
            'roles': roles}
