"""A scripted IPA and the converged state of novajoin's role, for the
set-up tool's tests (no Kerberos, no server).

The functional test (tests/functional/test_ipa_setup.py) proves the set on the
real FreeIPA; these cover the decisions: what is written, what is left alone.
"""
from novajoin.ipa import errors
from novajoin.ipa_setup import rbac

BASEDN = 'dc=example,dc=test'
PRINCIPAL = 'nova/ctl.example.test@EXAMPLE.TEST'


class ScriptedIPA:
    """Answers *_show from ``objects``; records every other call."""

    def __init__(self, objects=None, results=None):
        self.objects = objects or {}
        self.results = results or {}
        self.writes = []

    def call(self, method, *args, **options):
        if method.endswith('_show'):
            key = (method[:-5], args[0])
            if key not in self.objects:
                raise errors.NotFound('%s: not found' % args[0])
            return {'result': self.objects[key]}
        self.writes.append((method, args, options))
        return self.results.get(method, {'result': {}})


def shown_permission(options):
    shown = {}
    for key, value in options.items():
        value = value % {'basedn': BASEDN} if isinstance(value, str) else value
        if isinstance(value, (list, tuple)):
            if value:  # IPA leaves out what is empty
                shown[key] = list(value)
        else:
            shown[key] = [value]
    return shown


def converged(ca=False):
    objects = {('permission', name): shown_permission(options)
               for name, (options, _) in rbac.CUSTOM_PERMISSIONS.items()}
    objects[('privilege', rbac.PRIVILEGE)] = {
        'memberof_permission': rbac.permission_names(ca)}
    objects[('role', rbac.ROLE)] = {'memberof_privilege': [rbac.PRIVILEGE],
                                    'member_service': [PRINCIPAL]}
    return objects
