"""oslo.policy rules of the API.

Guarantee: ``join:create`` (POST /v1/) by default admits a token only for
what keystone says the caller *is* — the ``service`` role, which only a
cloud administrator can grant — never for what the caller is *called*. A
user named ``nova`` in a project named ``service`` of any other keystone
domain, without the role, is refused (403).

The caller's credentials are taken only from the headers keystonemiddleware
sets after validating the token (it strips client-sent copies first),
through oslo.context (``credentials``): ids, domains and roles can be used
in an operator's rule; names cannot.
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


def credentials(ctx):
    """The caller as keystonemiddleware confirmed it, for policy checks: an
    oslo.context ``RequestContext``'s policy values (``user_id``,
    ``user_domain_id``, ``project_id``, ``project_domain_id``, ``domain_id``,
    ``system_scope``, ``roles``, ...). Names are not among them, so no rule
    can admit a caller for what it is called.
    """
    return ctx.to_policy_values()
