"""The record on an IPA host of the instance that owns it.

Kept in the host's ``description``, which tenants cannot touch:
``novajoin: instance=<uuid> project=<id>``. Hosts novajoin creates for
TripleO services (subhosts, VIP hosts) carry ``novajoin: subhost`` instead.
"""
import re

PREFIX = 'novajoin:'
SUBHOST = 'novajoin: subhost'
_OWNER = re.compile(r'^novajoin: instance=([0-9a-f-]{36}) project=(\S+)$')


def owner_record(instance_id, project_id):
    return 'novajoin: instance=%s project=%s' % (instance_id, project_id)


def _description(host):
    value = host.get('description') or ['']
    return value[0] if isinstance(value, list) else value


def owner_of(host):
    """(instance_id, project_id) recorded on an IPA host entry, or None."""
    match = _OWNER.match(_description(host))
    return (match.group(1), match.group(2)) if match else None


def is_subhost(host):
    return _description(host) == SUBHOST
