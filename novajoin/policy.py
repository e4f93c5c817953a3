"""oslo.policy rules of the API.

``join:create`` guards POST /v1/: by default nova's service user in the service
project, or any token carrying the ``service`` role (nova's
[vendordata_dynamic_auth] identity in a standard deployment).
"""
from oslo_policy import policy

RULES = [
    policy.DocumentedRuleDefault(
        name='join:create',
        check_str='(user_name:nova and project_name:service) or role:service',
        description='Ask novajoin to enroll an instance in IPA (nova\'s '
                    'DynamicJSON vendordata call).',
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
    """The caller as keystonemiddleware described it, for policy checks."""
    def header(name):
        return environ.get('HTTP_X_' + name)
    roles = [r.strip() for r in (header('ROLES') or '').split(',') if r.strip()]
    return {'user_id': header('USER_ID'), 'user_name': header('USER_NAME'),
            'project_id': header('PROJECT_ID'),
            'project_name': header('PROJECT_NAME'),
            'user_domain_id': header('USER_DOMAIN_ID'),
            'project_domain_id': header('PROJECT_DOMAIN_ID'),
            'roles': roles}
