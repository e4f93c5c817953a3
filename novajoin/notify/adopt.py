"""Adoption of hosts whose records novajoin does not believe:
``novajoin-reconcile --adopt``.

Records that development builds of novajoin 2.0 kept in the description. An
enrolled host can rewrite its own description (IPA's default ACI), so novajoin now believes only
records in userclass (``novajoin.hosts.records``) and adoption moves the old
ones there, each checked with nova first:

- an owner record ``instance=U project=P`` is moved when nova has a live
  server U in project P that novajoin names exactly this host (so a guest that
  rewrote its description to name another instance or project is caught:
  that server is not named so, or not in that project);
- a subhost record ``subhost project=P`` is moved when at least one host
  manages it and every host that does is, after this run, owned by P;
- anything else is listed with the reason and left alone.

novajoin 1.x gave each host the description ``IPA host for OpenStack`` and
its service subhosts none, and recorded no owner. To today's novajoin such a
host belongs to nobody: enrollment answers 409, deletes and the reconciler
never touch it. Adoption writes the owner record novajoin would have written:

- a legacy host whose FQDN is the name novajoin gives exactly one live nova
  server (hostname, ``[join] domain``, ``project_subdomain``) gets that
  server's ``novajoin: instance=... project=... cloud=...``, unless IPA made
  it before that server existed (then it is a leftover of an older instance
  whose name a tenant's new server took); if it has not enrolled yet, its
  OTP becomes the one novajoin hands that instance, so a guest still booting
  enrolls with the OTP it will fetch;
- a subhost without a description gets ``novajoin: subhost project=...``
  when the server's metadata asks for it (``compact_service_*``,
  ``managed_service_*``) and every host that manages it is adopted for that
  same project;
- anything else (no live server with that name, several, a name novajoin
  would not give, a subhost managed by hosts of other projects) is listed
  with the reason and left alone.

The records are written by an IPA administrator's credentials, never by
novajoin's role, which writes userclass only on hosts that carry a
"novajoin:" value already (novajoin-ipa-setup).
A host's other userclass values (its host class) are kept. A dry run (the
default) reads everything and changes nothing.
"""
import collections
import logging

from novajoin import validation
from novajoin.hosts import records
from novajoin.hosts import services as services_mod
from novajoin.hosts import store
from novajoin.hosts.store import first
from novajoin.ipa import errors

LOG = logging.getLogger(__name__)

Plan = collections.namedtuple('Plan', 'fqdn server enrolled classes')

# nova's and IPA's clocks may differ by this much (Kerberos' own limit)
CLOCK_SKEW = 300


class Report:
    """What adoption did (or would do) and what it left, with reasons."""

    def __init__(self):
        self.adopted = []       # (fqdn, what)
        self.left = []          # (fqdn, why)

    def lines(self):
        return (['adopt %s: %s' % pair for pair in self.adopted]
                + ['leave %s: %s' % pair for pair in self.left])

    def summary(self):
        return '%d adopted, %d left as they are' % (len(self.adopted),
                                                    len(self.left))


class Adopter:
    """``admin``: an IPAClient with an administrator's credentials;
    ``servers``: ``openstack.Servers``; ``enroller``: the ``join.Enroller``
    of this cloud's join.conf (its naming, OTPs and cloud id)."""

    def __init__(self, admin, servers, enroller):
        self.ipa = admin
        self.servers = servers
        self.enroller = enroller
        self.cloud = enroller.cloud

    def run(self, apply=False):
        report = Report()
        legacy = self._legacy_hosts()
        described = self._described_hosts()
        LOG.info('adoption: %d hosts with the novajoin 1.x description, %d with '
                 'a record in the description only', len(legacy),
                 len(described))
        if not legacy and not described:
            return report
        _, domain = self.enroller.identity.get()
        by_name = collections.defaultdict(list)
        for server in self.servers.details():
            fqdn = self._name_of(server, domain)
            if fqdn:
                by_name[fqdn].append(server)
        owners = self._move_records(described, by_name, report, apply)
        plans = []
        for host in legacy:
            fqdn = first(host, 'fqdn', '').lower()
            candidates = by_name.get(fqdn, [])
            if len(candidates) != 1:
                report.left.append((fqdn, 'no live nova server is named so'
                                    if not candidates else
                                    '%d live nova servers are named so (%s)' % (
                                        len(candidates), ', '.join(sorted(
                                            s['id'] for s in candidates)))))
                continue
            server = candidates[0]
            born = store.created_at(host)
            if (born is not None and server['created'] is not None
                    and server['created'] > born + CLOCK_SKEW):
                # 1.x made a host at its instance's first fetch: one made
                # before this server existed was another instance's (a
                # leftover whose name a newer server took)
                report.left.append((fqdn, 'made before server %s existed: the '
                                    'host of an older instance' % server['id']))
                continue
            plans.append(Plan(fqdn, server, store.has_keys(host),
                              records.without_records(records.userclasses(host))))
        owners.update({p.fqdn: p.server['project'] for p in plans})
        for plan in plans:
            self._adopt_host(plan, report, apply)
        for plan in plans:
            self._adopt_subhosts(plan, owners, report, apply)
        return report

    # -- reading -------------------------------------------------------------

    def _legacy_hosts(self):
        found = self.ipa.call('host_find', records.LEGACY_1X_DESCRIPTION,
                              all=True, sizelimit=0)['result']
        # host_find matches words anywhere; only the exact 1.x text counts
        return [h for h in found
                if records.description(h) == records.LEGACY_1X_DESCRIPTION]

    def _described_hosts(self):
        """Hosts with a novajoin record of this cloud in the description and
        none in userclass (made by a novajoin 2.0 development build)."""
        found = self.ipa.call('host_find', records.PREFIX, all=True,
                              sizelimit=0)['result']
        out = []
        for host in found:
            if records.has_record(host):
                continue
            owner, sub = records.described_record(host)
            if self.cloud.ours(owner) or self.cloud.ours(sub):
                out.append(host)
        return out

    def _name_of(self, server, domain):
        """The FQDN novajoin gives ``server``, or None if it gives none."""
        try:
            return self.enroller.host_name(server['hostname'], server['project'],
                                           domain)
        except validation.BadRequest:
            return None

    # -- records kept in the description (novajoin 2.0 development builds) --

    def _move_records(self, hosts, by_name, report, apply):
        """Move the checked records into userclass; {fqdn: project} of the
        instance hosts moved."""
        owners, subs = {}, []
        for host in hosts:
            fqdn = first(host, 'fqdn', '').lower()
            owner, sub = records.described_record(host)
            if sub is not None:
                subs.append((fqdn, host, sub))
                continue
            servers = [s for s in by_name.get(fqdn, [])
                       if s['id'] == owner.instance]
            if not servers:
                report.left.append((fqdn, 'its description names instance %s, '
                                    'and no live nova server of that id is '
                                    'named so' % owner.instance))
                continue
            if servers[0]['project'] != owner.project:
                report.left.append((fqdn, 'its description names project %s; '
                                    'nova says instance %s is in %s' % (
                                        owner.project, owner.instance,
                                        servers[0]['project'])))
                continue
            values = records.owner_values(owner.instance, owner.project,
                                          self.cloud.id,
                                          records.described_key(host))
            self._write(host, fqdn, values, apply)
            owners[fqdn] = owner.project
            report.adopted.append((fqdn, 'record moved to userclass: instance '
                                   '%s of project %s' % (owner.instance,
                                                         owner.project)))
        for fqdn, host, sub in subs:
            managers = sorted({m.lower() for m in host.get('managedby_host', [])}
                              - {fqdn})
            strangers = [m for m in managers
                         if self._project_of(m, owners) != sub.project]
            if not managers or strangers or sub.project is None:
                report.left.append((fqdn, 'its description names project %s; '
                                    'managed by %s' % (
                                        sub.project, ', '.join(strangers)
                                        or 'no host')))
                continue
            self._write(host, fqdn, self.cloud.subhost_values(sub.project),
                        apply)
            report.adopted.append((fqdn, 'record moved to userclass: subhost '
                                   'of project %s' % sub.project))
        return owners

    def _project_of(self, fqdn, moved):
        if fqdn in moved:
            return moved[fqdn]
        try:
            host = self.ipa.call('host_show', fqdn, all=True)['result']
        except errors.NotFound:
            return None
        owner = self.cloud.owner(host)
        return owner.project if owner else None

    def _write(self, host, fqdn, values, apply):
        if not apply:
            return
        kept = records.without_records(records.userclasses(host))
        self.ipa.call('host_mod', fqdn, userclass=kept + values)
        LOG.info('moved the record of %s to userclass', fqdn)

    # -- writing -------------------------------------------------------------

    def _adopt_host(self, plan, report, apply):
        server = plan.server
        otps = self.enroller.otps
        values = self.cloud.owner_values(server['id'], server['project'],
                                         key=otps.key_id)
        changes = {'description': values[0],
                   'userclass': plan.classes + values}
        what = 'instance %s of project %s' % (server['id'], server['project'])
        if not plan.enrolled:
            # the OTP this instance gets from novajoin from now on
            changes['userpassword'] = otps.otp(plan.fqdn, server['id'])
            what += ', not enrolled yet: OTP set to the one novajoin answers'
        if apply:
            self.ipa.call('host_mod', plan.fqdn, **changes)
            LOG.info('adopted %s as %s', plan.fqdn, what)
        report.adopted.append((plan.fqdn, what))

    def _adopt_subhosts(self, plan, owners, report, apply):
        server = plan.server
        short, _, host_domain = plan.fqdn.partition('.')
        try:
            wanted = services_mod.requested_services(server['metadata'], short,
                                                     host_domain)
        except validation.BadRequest as exc:
            LOG.warning('adoption: services of %s not read: %s', plan.fqdn, exc)
            return
        project = server['project']
        for name in wanted.subhosts:
            if name == plan.fqdn or name in owners:
                continue
            try:
                sub = self.ipa.call('host_show', name, all=True)['result']
            except errors.NotFound:
                continue
            if records.description(sub) or records.has_record(sub):
                continue    # recorded already, or not novajoin's to take
            managers = {m.lower() for m in sub.get('managedby_host', [])} - {name}
            strangers = sorted(m for m in managers if owners.get(m) != project)
            if plan.fqdn not in managers or strangers:
                why = ('not managed by %s' % plan.fqdn if plan.fqdn not in managers
                       else 'also managed by %s, not adopted for project %s'
                       % (', '.join(strangers), project))
                if (name, why) not in report.left:
                    report.left.append((name, why))
                continue
            if any(fqdn == name for fqdn, _ in report.adopted):
                continue    # a VIP several adopted hosts ask for
            if apply:
                values = self.cloud.subhost_values(project)
                self.ipa.call('host_mod', name, description=values[0],
                              userclass=records.without_records(
                                  records.userclasses(sub)) + values)
                LOG.info('adopted subhost %s for project %s', name, project)
            report.adopted.append((name, 'subhost of project %s' % project))
