"""The hosts and services an instance's host manages (TripleO services).

Shared by enrollment (``join``) and metadata updates (``notify.managed``):
novajoin only ever lets an instance's host manage hosts that novajoin itself
created as subhosts (description ``novajoin: subhost``).
"""
from novajoin import ownership
from novajoin.ipa import errors


class ForeignHost(Exception):
    """A requested service host exists in IPA and was not made by novajoin."""


def missing(ipa, names, deadline=None):
    """Of ``names``, those IPA lacks (one round trip); ForeignHost for a
    host that exists but is not a novajoin subhost."""
    if not names:
        return []
    results = ipa.batch([('host_show', [n], {}) for n in names], deadline=deadline)
    out = []
    for name, result in zip(names, results):
        if isinstance(result, errors.NotFound):
            out.append(name)
        elif isinstance(result, Exception):
            raise result
        elif not ownership.is_subhost(result['result']):
            raise ForeignHost('service host %s exists in IPA and was not made by '
                              'novajoin' % name)
    return out


def link_calls(fqdn, create, principals, manage):
    """IPA calls (for one batch) that create the subhosts ``create`` and the
    services ``principals``, and let ``fqdn`` manage them and ``manage``."""
    calls = [('host_add', [h], {'force': True, 'description': ownership.SUBHOST})
             for h in create]
    calls += [('service_add', [p], {'force': True}) for p in principals]
    calls += [('service_add_host', [p], {'host': [fqdn]})
              for p in principals if p.partition('/')[2] != fqdn]
    calls += [('host_add_managedby', [h], {'host': [fqdn]})
              for h in manage if h != fqdn]
    return calls
