"""Which subhosts a host may manage, and the IPA calls that link them.

A host is only ever made manager of (put in the ``managedBy`` of) a subhost
that novajoin created for the same project of the same cloud: in FreeIPA a
host in ``managedBy`` may fetch the entry's keys and certificates, so a link
to anything else would hand out an identity that is not the project's.
Shared by enrollment (``create``) and metadata updates (``sync``).
"""
import logging

from novajoin.hosts import records
from novajoin.hosts.errors import Conflict
from novajoin.ipa import errors

LOG = logging.getLogger(__name__)


def missing(ipa, cloud, project_id, names, deadline=None):
    """Of ``names``, those IPA lacks (one round trip).

    ``Conflict`` for a name that exists and is not a subhost of
    ``project_id`` in this cloud: another project's, an older novajoin's
    (no project recorded), another cloud's, or not novajoin's at all.
    """
    if not names:
        return []
    results = ipa.batch([('host_show', [n], {'all': True}) for n in names],
                        deadline=deadline)
    out = []
    for name, result in zip(names, results):
        if isinstance(result, errors.NotFound):
            out.append(name)
            continue
        if isinstance(result, Exception):
            raise result
        owner = records.subhost_owner(result.get('result', {}))
        if owner is None:
            why = 'was not made by novajoin as a service host'
        elif owner.project is None:
            why = ('was made by an older novajoin that did not record its '
                   'project (an administrator can record it: see the README, '
                   '"Security model")')
        elif owner.cloud != cloud.id:
            why = 'belongs to another cloud (%s)' % owner.cloud
        elif owner.project != project_id:
            why = 'belongs to another project'
        else:
            continue
        LOG.warning('service host %s refused to project %s: it %s', name,
                    project_id, why)
        raise Conflict('service host %s exists in IPA and %s' % (name, why))
    return out


def ours(ipa, cloud, project_id, names, deadline=None):
    """True when every one of ``names`` exists as a subhost of ``project_id``
    in this cloud (``missing`` logs why one is not)."""
    try:
        return not missing(ipa, cloud, project_id, names, deadline)
    except Conflict:
        return False


def link_calls(fqdn, create, principals, manage, values):
    """IPA calls (for one batch) that create the subhosts ``create`` with the
    ownership userclass ``values`` (``Cloud.subhost_values``) and the
    services ``principals``, and let ``fqdn`` manage them and ``manage``."""
    calls = [('host_add', [h], {'force': True, 'description': values[0],
                                'userclass': list(values)})
             for h in create]
    calls += [('service_add', [p], {'force': True}) for p in principals]
    calls += [('service_add_host', [p], {'host': [fqdn]})
              for p in principals if p.partition('/')[2] != fqdn]
    calls += [('host_add_managedby', [h], {'host': [fqdn]})
              for h in manage if h != fqdn]
    return calls
