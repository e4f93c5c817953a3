"""Bring a host's TripleO services in line with its server metadata.

Adds what the metadata asks for and IPA lacks (as ``novajoin.join`` does at
enrollment) and releases what it no longer lists (``Hosts.release``).
"""
import logging

from novajoin import subhosts
from novajoin.ipa import errors
from novajoin.ipa import results as results_mod
from novajoin.notify import hosts as hosts_mod

LOG = logging.getLogger(__name__)


ServiceConflict = subhosts.ForeignHost


def sync(hosts, fqdn, wanted, dry_run=False):
    """Make ``fqdn`` manage exactly ``wanted`` (a services.ServiceRequest).

    Returns the IPA calls made (or planned, with ``dry_run``).
    """
    ipa = hosts.ipa
    services, managed = current = hosts.managed_by(fqdn)
    have_hosts = {hosts_mod.first(h, 'fqdn', '').lower() for h in managed}
    have_principals = {hosts_mod.principal_name(
        hosts_mod.first(s, 'krbprincipalname', '')) for s in services}
    new_hosts = [h for h in wanted.subhosts if h != fqdn and h not in have_hosts]
    new_principals = [p for p in wanted.principals if p not in have_principals
                      and p.partition('/')[2] != fqdn]
    calls = []
    if new_hosts or new_principals:
        calls += subhosts.link_calls(fqdn, subhosts.missing(ipa, new_hosts),
                                     new_principals, new_hosts)
        if not dry_run:
            results = ipa.batch(calls)
            transient = [r for r in results
                         if isinstance(r, errors.IPAError) and r.transient]
            if transient:
                raise transient[0]
            problems = results_mod.batch_problems(calls, results)
            if problems:
                raise errors.IPACommandError('IPA refused services of %s: %s'
                                             % (fqdn, '; '.join(problems)))
    # Releasing works from what was read before the additions: what was just
    # added is wanted, so it would be kept anyway.
    calls += hosts.release(fqdn, keep_hosts=wanted.subhosts,
                           keep_principals=wanted.principals, dry_run=dry_run,
                           managed=current)
    return calls
