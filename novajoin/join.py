"""The enrollment decision: who enrolls, under which name, with which OTP.

``Enroller.handle`` takes a checked ``VendordataRequest`` and returns the JSON
nova puts under ``join`` in vendor_data2.json. It raises:
- ``otp.UnknownKey`` (500) when a host was made with an OTP secret that is no
  longer configured,
- ``validation.BadRequest`` (400) for names or metadata that cannot be used,
- ``Refused`` (403) when a rule forbids the enrollment (boot roles, host
  class, TripleO services, a host an administrator disabled),
- ``Conflict`` (409) when a name belongs to something else in IPA,
- ``errors.IPAError`` / ``openstack.UpstreamError`` (5xx) when a peer fails.

The host record itself (ownership, subhosts, atomic creation) lives in
``novajoin.hosts``. A repeated fetch for the same instance reads the host and
answers the same derived OTP; it writes nothing. A repeated fetch of the very
same request within ``answer_ttl`` seconds of the answer this process gave is
answered from memory, without IPA (``Enroller._answers`` says why that is
safe), so refetches do not queue behind a boot storm's writes. After a rebuild,
novajoin-notify resets the host (``novajoin.hosts.rearm``) and the OTP is the
one of that rebuild. A host with neither keys nor
a password was disabled by an administrator: novajoin never re-arms it.
"""
import hashlib
import json
import logging
import re
import threading
import time

from novajoin import audit as audit_mod
from novajoin import metrics
from novajoin import validation
from novajoin.cache import BoundedMap
from novajoin.hosts import create as create_mod
from novajoin.hosts import errors as host_errors
from novajoin.hosts import rearm
from novajoin.hosts import records
from novajoin.hosts import services as services_mod
from novajoin.hosts import subhosts
from novajoin.ipa import errors
from novajoin.ipa.client import server_host
from novajoin.validation import BadRequest

LOG = logging.getLogger(__name__)
AUDIT = logging.getLogger('novajoin.audit')

# A request left with less than this share of request_deadline when it
# reaches the app is shed at once: one IPA round trip takes about that long
# under load, so it could not be answered before nova gives up.
MIN_TIME_LEFT = 0.2

_FREE_TEXT = re.compile(r'[\w .,:/()+-]{1,255}')
_HOSTCLASS = re.compile(r'[A-Za-z0-9_.-]{1,64}')

Refused = host_errors.Refused
Conflict = host_errors.Conflict


class Overloaded(Exception):
    """503 at once: the request waited so long before reaching novajoin that
    its answer could no longer reach nova in time (load shed)."""


def enroll_flag(value):
    """None when unset, else whether the value is a case-insensitive 'true'."""
    if value is None:
        return None
    return str(value).strip().lower() == 'true'


class IPAIdentity:
    """The realm and domain of the IPA deployment: configured, or asked once."""

    def __init__(self, ipa, realm=None, domain=None):
        self._ipa = ipa
        self._realm = realm
        self._domain = domain
        self._lock = threading.Lock()

    def get(self, deadline=None):
        if self._realm and self._domain:
            return self._realm, self._domain
        with self._lock:
            if not (self._realm and self._domain):
                env = self._ipa.call('env', 'realm', 'domain',
                                     deadline=deadline).get('result', {})
                self._realm = self._realm or env['realm']
                self._domain = self._domain or env['domain']
                LOG.info('IPA realm %s, domain %s', self._realm, self._domain)
        return self._realm, self._domain


class Enroller:

    def __init__(self, ipa, otps, identity, images=None, projects=None,
                 domain=None, project_subdomain=False, required_boot_roles=(),
                 allowed_hostclasses=('*',), project_hostclasses=None,
                 servers=(), request_deadline=4.5, cloud=None,
                 service_rules=None, max_host_name_length=64, ca_cert=None,
                 audit=None, answer_ttl=15, clock=time.monotonic):
        self.ipa = ipa
        self.audit = audit or audit_mod.Auditor(service='novajoin-server')
        self.cloud = cloud or records.Cloud('default')
        self.service_rules = service_rules or services_mod.ServiceRules(
            ipa_servers=servers)
        self.otps = otps
        self.identity = identity
        self.images = images
        self.projects = projects
        self.domain = domain.lower().rstrip('.') if domain else None
        self.project_subdomain = project_subdomain
        self.required_boot_roles = set(required_boot_roles)
        self.allowed_hostclasses = set(allowed_hostclasses)
        self.project_hostclasses = {
            project: set(filter(None, classes.split('|')))
            for project, classes in (project_hostclasses or {}).items()}
        # guests get host names: a port is only for novajoin's JSON-RPC
        self.servers = list(dict.fromkeys(server_host(s) for s in servers))
        self.request_deadline = request_deadline
        self.max_host_name_length = max_host_name_length
        self.ca_cert = ca_cert    # PEM for the guest, or None
        # (instance, fqdn) this process has seen in IPA: their repeated
        # fetches go straight to a read. A hint only; IPA decides.
        self._seen = BoundedMap()
        # Answers given in the last answer_ttl seconds, by the whole request
        # they answered. Serving one again is safe: the OTP is derived (the
        # same bytes IPA holds), it is the same caller's same request, and
        # whatever changed in IPA meanwhile makes the copy harmless: an
        # enrollment or an administrator's disable invalidates the OTP in
        # IPA, so the copy hands out nothing IPA would still accept. The one
        # case it gets wrong: an instance rebuilt and booted again within
        # answer_ttl of the previous answer gets that answer's OTP, which the
        # rebuild's re-arm replaced (its ipa-client-install fails; the TTL
        # is kept far below any real rebuild-and-boot). Refusals and errors
        # are never kept.
        self._answers = BoundedMap(maxsize=20000, ttl=answer_ttl,
                                   clock=clock) if answer_ttl > 0 else None
        if project_subdomain and projects is None:
            raise ValueError('project_subdomain needs [service_credentials] to '
                             'read project names from keystone')

    # -- the request --------------------------------------------------------

    def handle(self, req, caller='unknown', arrived=None):
        """The join answer; ``arrived``: time.monotonic() when the request
        reached this process (its deadline starts there), None for now."""
        try:
            return self._handle(req, caller, arrived)
        except (Refused, Conflict) as exc:
            self.audit.refused(403 if isinstance(exc, Refused) else 409,
                               str(exc), req.instance_id, req.project_id)
            raise

    def _handle(self, req, caller, arrived):
        key = _request_key(req) if self._answers is not None else None
        if key is not None:
            answer = self._answers.get(key)
            if answer is not None:
                metrics.ANSWERS_REUSED.inc()
                return dict(answer)
        now = time.monotonic()
        deadline = (now if arrived is None else min(arrived, now)) + \
            self.request_deadline
        if deadline - now < self.request_deadline * MIN_TIME_LEFT:
            metrics.SHED.labels(reason='late').inc()
            # the wait: for a free thread, then keystonemiddleware's check
            # of the token (a token it has not seen yet asks keystone)
            raise Overloaded('the request waited %.1f s (for a free thread '
                             'and the token check) before novajoin could '
                             'start on it; ask again' % (now - arrived))
        answer = self._decide(req, caller, deadline)
        if key is not None and 'ipaotp' in answer:
            # only OTP answers: what a booting guest fetches again; an
            # enrolled host's answer may change with a rebuild at any time
            self._answers.put(key, dict(answer))
        return answer

    def _decide(self, req, caller, deadline):
        image = _LazyImage(self.images, req.image_id)
        wanted = enroll_flag(req.metadata.get('ipa_enroll'))
        if wanted is None:
            wanted = enroll_flag(image.properties().get('ipa_enroll'))
        if not wanted:
            return {}
        self._check_boot_roles(req)
        hostclass = self._hostclass(req)
        realm, ipa_domain = self.identity.get(deadline)
        fqdn = self.host_name(req.hostname, req.project_id, ipa_domain)
        short, _, domain = fqdn.partition('.')
        wanted_services = services_mod.requested_services(req.metadata, short,
                                                          domain)
        services_mod.check_length(fqdn, self.max_host_name_length)
        self.service_rules.check(req.project_id, fqdn, wanted_services)
        location = req.metadata.get('ipa_host_location')
        if location is not None and not _FREE_TEXT.fullmatch(location):
            raise BadRequest('ipa_host_location %r has characters that are not '
                             'allowed' % location[:64])
        otp = self.otps.otp(fqdn, req.instance_id)     # a new host's

        # Known here, or services to link: read first, never write blind.
        # Otherwise most fetches are first fetches: add at once, one round
        # trip; if the host exists IPA refuses the add (DuplicateEntry) and
        # changes nothing, and _create reads it so its owner is checked.
        host = None
        if wanted_services or (req.instance_id, fqdn) in self._seen:
            host = self._show(fqdn, deadline)
        if host is None:
            host = self._create(req, fqdn, self._host_attrs(
                req, otp, hostclass, location, image), wanted_services, deadline)
        if host is None:
            AUDIT.info('created IPA host %s for instance %s of project %s '
                       '(caller %s, services %d, subhosts %d)', fqdn,
                       req.instance_id, req.project_id, caller,
                       len(wanted_services.principals),
                       len(wanted_services.subhosts))
            metrics.OTPS_ISSUED.inc()
            self.audit.host_created(fqdn, req.instance_id, req.project_id)
        enrolled = host is not None and self._existing(req, fqdn, host, caller)
        self._seen.put((req.instance_id, fqdn), True)
        answer = {'hostname': fqdn, 'krb_realm': realm, 'ipa_domain': ipa_domain,
                  'ipa_server': self.servers}
        if not enrolled:
            # an existing host's OTP: of the secret it was made with, and of
            # the rebuild it was last reset for
            answer['ipaotp'] = otp if host is None else rearm.otp_of(
                self.otps, fqdn, req.instance_id, host)
            if self.ca_cert:
                answer['ipa_ca_cert'] = self.ca_cert
        return answer

    def _host_attrs(self, req, otp, hostclass, location, image):
        """host_add options (reads the image only now, when adding)."""
        values = self.cloud.owner_values(req.instance_id, req.project_id,
                                         key=self.otps.key_id)
        # The record goes in userclass (the host cannot rewrite it); the
        # description repeats it for people (novajoin.hosts.records).
        # no_members: IPA skips computing membership for its answer, which
        # nothing reads (10-15% more host_adds/s on FreeIPA 4.12, measured)
        attrs = {'description': values[0],
                 'userclass': ([hostclass] if hostclass else []) + values,
                 'userpassword': otp, 'force': True, 'no_members': True}
        if location:
            attrs['nshostlocation'] = location
        os_version = image.os_version()
        if os_version:
            attrs['nsosversion'] = os_version
        return attrs

    # -- policy -------------------------------------------------------------

    def _check_boot_roles(self, req):
        if self.required_boot_roles and not (self.required_boot_roles
                                             & set(req.boot_roles)):
            raise Refused('instance %s may not enroll: the user who booted it '
                          'held none of the roles %s' % (
                              req.instance_id,
                              ', '.join(sorted(self.required_boot_roles))))

    def _hostclass(self, req):
        hostclass = req.metadata.get('ipa_hostclass')
        if not hostclass:
            return None
        if not _HOSTCLASS.fullmatch(hostclass):
            raise BadRequest('ipa_hostclass %r is not valid (letters, digits, '
                             '"_", "." and "-", at most 64)' % hostclass[:64])
        if ('*' in self.allowed_hostclasses
                or hostclass in self.allowed_hostclasses
                or hostclass in self.project_hostclasses.get(req.project_id, ())):
            return hostclass
        raise Refused('host class %r is not allowed for project %s'
                      % (hostclass, req.project_id))

    def host_name(self, hostname, project_id, ipa_domain):
        """The FQDN of the host of an instance named ``hostname`` (nova's
        hostname) in ``project_id``; a hostname that is not a valid label or
        FQDN is a 400, never reshaped into another name."""
        domain = self.domain or ipa_domain.lower()
        # Every label checked ("a..b" or "a.-b" is refused), one root dot.
        name = validation.check_hostname(hostname)
        if self.project_subdomain:
            label = validation.dns_label_from(self.projects.name(project_id))
            domain = '%s.%s' % (label, domain)
        elif name.endswith('.' + domain):
            # nova >= 2.94 may hand over an FQDN already in our domain.
            return name
        # nova < 2.94 turns dots into "-"; a dotted name outside our domain:
        # its first label is the host.
        short = name.partition('.')[0]
        return validation.check_fqdn('%s.%s' % (short, domain))

    # -- IPA ----------------------------------------------------------------

    def _show(self, fqdn, deadline):
        try:
            return self.ipa.call('host_show', fqdn, all=True,
                                 deadline=deadline)['result']
        except errors.NotFound:
            return None

    def _existing(self, req, fqdn, host, caller):
        """Check ownership of an existing host; whether it has enrolled."""
        owner = self.cloud.owner(host)
        if owner is None or owner.instance != req.instance_id:
            other = records.owner_of(host)
            LOG.warning('refused %s to instance %s of project %s: the IPA host '
                        'belongs to %s', fqdn, req.instance_id, req.project_id,
                        'instance %s' % other.instance if owner
                        else 'another cloud (%s)' % other.cloud if other
                        else 'no novajoin instance')
            raise Conflict('host %s already exists in IPA and belongs to '
                           'another %s' % (fqdn, 'instance' if other
                                           else 'owner'))
        if host.get('has_keytab'):
            return True
        if not host.get('has_password'):
            generation = records.generation_of(host)
            if generation is not None and not generation.armed:
                # novajoin-notify is resetting the host for a rebuild: its
                # keys are gone, the new OTP comes in a moment (nova serves no
                # join data for a 503; the guest asks again)
                raise errors.IPAUnavailable('IPA host %s is being reset after '
                                            'a rebuild; ask again' % fqdn)
            # Neither keys nor a password: an administrator disabled the host
            # (ipa host-disable) or removed its keys. Arming it again would
            # undo that action, so the instance gets no OTP.
            AUDIT.warning('refused an OTP for disabled IPA host %s to instance '
                          '%s of project %s (caller %s)', fqdn, req.instance_id,
                          req.project_id, caller)
            raise Refused('IPA host %s was disabled by an administrator; '
                          'novajoin does not enable it again' % fqdn)
        return False

    def _create(self, req, fqdn, attrs, wanted, deadline):
        """Add the host (and its services) atomically; None, or the host
        found instead when the name exists."""
        if not wanted:
            try:
                self.ipa.call('host_add', fqdn, deadline=deadline, **attrs)
                return None
            except errors.DuplicateEntry:
                return self._show_existing(fqdn, deadline)
        new_subhosts = subhosts.missing(
            self.ipa, self.cloud, req.project_id,
            [s for s in wanted.subhosts if s != fqdn], deadline)
        calls = [('host_add', [fqdn], attrs)] + subhosts.link_calls(
            fqdn, new_subhosts, wanted.principals, wanted.subhosts,
            self.cloud.subhost_values(req.project_id))
        try:
            create_mod.run_atomically(
                self.ipa, calls, deadline, what='the enrollment of %s' % fqdn,
                # a subhost made meanwhile by another request of this project
                # is as good as ours; the host itself never is
                ours=lambda names: fqdn not in names and subhosts.ours(
                    self.ipa, self.cloud, req.project_id, names, deadline))
        except create_mod.BatchFailed as exc:
            if fqdn in exc.duplicate:
                return self._show_existing(fqdn, deadline)
            if exc.duplicate:
                # A subhost that is not the project's appeared since it was
                # read: start again on the next fetch, which says whose it is.
                raise errors.IPAUnavailable('service host %s was created by '
                                            'another request meanwhile'
                                            % exc.duplicate[0])
            raise
        return None

    def _show_existing(self, fqdn, deadline):
        # host_add said it exists: created by an earlier fetch, another
        # worker or replica (a race), or somebody else entirely.
        host = self._show(fqdn, None if deadline is None else deadline + 1)
        if host is None:
            raise errors.IPAUnavailable('host %s was added and removed at once'
                                        % fqdn)
        return host


def _request_key(req):
    """Everything of a request that its answer depends on, as one digest."""
    text = json.dumps([req.project_id, req.instance_id, req.image_id,
                       req.hostname, req.metadata, sorted(req.boot_roles)],
                      sort_keys=True)
    return hashlib.sha256(text.encode()).digest()


class _LazyImage:
    """Image properties, fetched at most once per request and only if needed."""

    def __init__(self, images, image_id):
        self._images = images
        self._image_id = image_id
        self._props = None

    def properties(self):
        if self._props is None:
            if not self._image_id or self._images is None:
                self._props = {}
            else:
                self._props = self._images.properties(self._image_id)
        return self._props

    def os_version(self):
        """'os_distro os_version' for IPA's nsosversion; None if unknown.

        Best effort: metadata already decided to enroll, so a glance failure
        here must not stop the enrollment.
        """
        try:
            props = self.properties()
        except Exception as exc:  # noqa: BLE001 - any look-up failure
            LOG.warning('no OS version for image %s: %s', self._image_id, exc)
            return None
        text = ' '.join(v for v in (props.get('os_distro'),
                                    props.get('os_version')) if v)
        return text if text and _FREE_TEXT.fullmatch(text) else None
