"""The ownership record on an IPA host, and which records are this cloud's.

Kept in the host's ``userclass`` values, which the host itself cannot write:
novajoin's IPA role writes them when it adds a host (and later only the
rebuild record, ``novajoin.hosts.rearm``); IPA administrators may. (Not in
``description``: IPA's default ACI "Hosts can modify their own certs and
keytabs" lets every enrolled host rewrite its own description, so a tenant's
guest could claim another project there. Measured on FreeIPA 4.12.)

The record, one value:
- an instance's host: ``novajoin: instance=<uuid> project=<id> cloud=<id>
  key=<OTP key id>`` (the key id of the secret its OTP is derived from,
  ``novajoin.otp``);
- a TripleO service subhost (or VIP host) made for a project's hosts:
  ``novajoin: subhost project=<id> cloud=<id>``.
Beside it, values IPA can find by exact match (``host_find userclass=``):
``novajoin: cloud=<id>`` on every host of a cloud, and
``novajoin: instance=<uuid> cloud=<id>`` on an instance's host. A host
carrying two different records has none (nobody but an administrator could
have added the second).

The description repeats the record for people reading IPA; novajoin never
believes it. Records that development builds of novajoin 2.0 kept only in
the description are moved into userclass by ``novajoin-reconcile --adopt`` (checked with nova
first). Records written before the cloud identity existed (no ``cloud=``)
still parse: their cloud is None, and ``Cloud.ours`` counts them as this
cloud's only where the operator says so (``[join] legacy_records``). Services
carry no record of their own (IPA services have no free-text attribute): a
service belongs to the project of the host it is on.
"""
import collections
import re

from novajoin import validation

PREFIX = 'novajoin:'
# What novajoin 1.x wrote on every instance host, with no owner: such hosts
# are adopted by ``novajoin-reconcile --adopt`` (novajoin.notify.adopt).
LEGACY_1X_DESCRIPTION = 'IPA host for OpenStack'
_ID = r'[A-Za-z0-9_-]{1,64}'
CLOUD_ID = re.compile(r'[A-Za-z0-9._-]{1,64}')
_KEY = r'[0-9a-f]{8}'
_OWNER = re.compile(r'novajoin: instance=([0-9a-f-]{36}) project=(%s)'
                    r'(?: cloud=(%s)(?: key=(%s))?)?'
                    % (_ID, CLOUD_ID.pattern, _KEY))
_SUBHOST = re.compile(r'novajoin: subhost(?: project=(%s) cloud=(%s))?'
                      % (_ID, CLOUD_ID.pattern))
# the latest rebuild a host was reset for (novajoin.hosts.rearm)
_REBUILD = re.compile(r'novajoin: rebuild=(%s) key=(%s)( armed)?'
                      % (validation.REQUEST_ID.pattern, _KEY))

Owner = collections.namedtuple('Owner', 'instance project cloud')
Generation = collections.namedtuple('Generation', 'request_id key armed')
SubhostOwner = collections.namedtuple('SubhostOwner', 'project cloud')


def cloud_index(cloud_id):
    """The userclass value on every host of ``cloud_id``."""
    return 'novajoin: cloud=%s' % cloud_id


def instance_index(instance_id, cloud_id):
    """The userclass value on the host of ``instance_id`` in ``cloud_id``."""
    return 'novajoin: instance=%s cloud=%s' % (instance_id, cloud_id)


def owner_values(instance_id, project_id, cloud_id, key=None):
    """The userclass values of an instance's new host."""
    return [owner_record(instance_id, project_id, cloud_id, key),
            instance_index(instance_id, cloud_id), cloud_index(cloud_id)]


def subhost_values(project_id, cloud_id):
    """The userclass values of a new subhost."""
    return [subhost_record(project_id, cloud_id), cloud_index(cloud_id)]


def rebuild_record(request_id, key, armed=False):
    """The userclass value of a host reset for nova's rebuild ``request_id``
    with an OTP of the secret ``key``; ``armed`` once that OTP is set (written
    together with it, novajoin.hosts.rearm)."""
    return 'novajoin: rebuild=%s key=%s%s' % (request_id, key,
                                              ' armed' if armed else '')


def is_rebuild_record(value):
    return bool(_REBUILD.fullmatch(value))


def generation_of(host):
    """The ``Generation`` (rebuild request id, OTP key id, armed) a host was
    last reset for, or None (never reset; several values: none believed)."""
    found = {m.groups() for m in map(_REBUILD.fullmatch, userclasses(host)) if m}
    if len(found) != 1:
        return None
    request_id, key, armed = found.pop()
    return Generation(request_id, key, bool(armed))


def owner_record(instance_id, project_id, cloud_id, key=None):
    """``key``: the key id of the OTP secret the host is made with."""
    record = 'novajoin: instance=%s project=%s cloud=%s' % (
        instance_id, project_id, cloud_id)
    return record + (' key=%s' % key if key else '')


def subhost_record(project_id, cloud_id):
    return 'novajoin: subhost project=%s cloud=%s' % (project_id, cloud_id)


def description(host):
    """The host's description: for people, and for finding what novajoin
    2.0 development builds recorded there (never believed as an owner
    record)."""
    value = host.get('description') or ['']
    value = value[0] if isinstance(value, list) and value else value
    return value if isinstance(value, str) else ''


def userclasses(host):
    value = host.get('userclass') or []
    value = value if isinstance(value, list) else [value]
    return [v for v in value if isinstance(v, str)]


def _records(host):
    """The owner and subhost records among the host's userclass values."""
    return {v for v in userclasses(host)
            if _OWNER.fullmatch(v) or _SUBHOST.fullmatch(v)}


def _record(host, pattern):
    """The host's record, if ``pattern`` matches it; None when the host has
    no record, or several that differ (of one kind or both kinds)."""
    found = _records(host)
    return pattern.fullmatch(found.pop()) if len(found) == 1 else None


def has_record(host):
    """Whether the host's userclass carries a novajoin record at all."""
    return bool(_records(host))


def described_record(host):
    """An owner or subhost record found in the description (where novajoin
    2.0 development builds kept it): (Owner or None, SubhostOwner or None).
    A claim to check, since the host itself may have written it."""
    text = description(host)
    owner, sub = _OWNER.fullmatch(text), _SUBHOST.fullmatch(text)
    return (Owner(*owner.groups()[:3]) if owner else None,
            SubhostOwner(*sub.groups()) if sub else None)


def described_key(host):
    """The OTP key id in a description's owner record (see described_record)."""
    match = _OWNER.fullmatch(description(host))
    return match.group(4) if match else None


def owner_of(host):
    """The ``Owner`` recorded on an instance's host entry, or None."""
    match = _record(host, _OWNER)
    return Owner(*match.groups()[:3]) if match else None


def otp_key_of(host):
    """The key id of the OTP secret an owned host was made with, or None
    (a record from before key ids, or no owner record)."""
    match = _record(host, _OWNER)
    return match.group(4) if match else None


def subhost_owner(host):
    """The ``SubhostOwner`` of a subhost entry (fields None for a legacy
    record), or None when the host is not a novajoin subhost."""
    match = _record(host, _SUBHOST)
    return SubhostOwner(*match.groups()) if match else None


def without_records(values):
    """``values`` (a host's userclass) less novajoin's own values."""
    return [v for v in values if not v.startswith(PREFIX)]


def is_subhost(host):
    return subhost_owner(host) is not None


class Cloud:
    """This cloud's identity in the records, and which records are its own."""

    def __init__(self, cloud_id, legacy_records=True):
        if not CLOUD_ID.fullmatch(cloud_id or ''):
            raise ValueError('cloud id %r is not valid (letters, digits, ".", '
                             '"_" and "-", at most 64)' % (cloud_id,))
        self.id = cloud_id
        self.legacy_records = legacy_records

    def ours(self, record):
        """Whether an ``Owner``/``SubhostOwner`` belongs to this cloud."""
        if record is None:
            return False
        if record.cloud is None:
            return self.legacy_records
        return record.cloud == self.id

    def owner(self, host):
        """The host's ``Owner`` if it is this cloud's instance host, else None."""
        owner = owner_of(host)
        return owner if self.ours(owner) else None

    def owner_record(self, instance_id, project_id, key=None):
        return owner_record(instance_id, project_id, self.id, key)

    def owner_values(self, instance_id, project_id, key=None):
        return owner_values(instance_id, project_id, self.id, key)

    def subhost_record(self, project_id):
        return subhost_record(project_id, self.id)

    def subhost_values(self, project_id):
        return subhost_values(project_id, self.id)

    def instance_index(self, instance_id):
        return instance_index(instance_id, self.id)

    def index(self):
        return cloud_index(self.id)

    def is_own_subhost(self, host):
        return self.ours(subhost_owner(host))

    def is_ours(self, host):
        """An instance host or a subhost of this cloud."""
        return self.owner(host) is not None or self.is_own_subhost(host)


def cloud_from_conf(conf):
    return Cloud(conf.join.cloud_id, conf.join.legacy_records)
