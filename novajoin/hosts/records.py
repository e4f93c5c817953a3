"""The ownership record on an IPA host, and which records are this cloud's.

Kept in the host's ``description``, which tenants cannot touch and which
novajoin's IPA role cannot change after creation:

- an instance's host: ``novajoin: instance=<uuid> project=<id> cloud=<id>
  key=<OTP key id>`` (the key id of the secret its OTP is derived from,
  ``novajoin.otp``; records from before key ids have none);
- a TripleO service subhost (or VIP host) made for a project's hosts:
  ``novajoin: subhost project=<id> cloud=<id>``.

Records written before the cloud identity existed (``novajoin: instance=<uuid>
project=<id>`` and ``novajoin: subhost``) still parse: their cloud is None,
and ``Cloud.ours`` counts them as this cloud's only where the operator says
so (``[join] legacy_records``, on by default for a single cloud). A legacy
subhost has no project, so no host is ever made its manager again.
Services carry no record of their own (IPA services have no free-text
attribute): a service belongs to the project of the host it is on.
"""
import collections
import re

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

Owner = collections.namedtuple('Owner', 'instance project cloud')
SubhostOwner = collections.namedtuple('SubhostOwner', 'project cloud')


def owner_record(instance_id, project_id, cloud_id, key=None):
    """``key``: the key id of the OTP secret the host is made with."""
    record = 'novajoin: instance=%s project=%s cloud=%s' % (
        instance_id, project_id, cloud_id)
    return record + (' key=%s' % key if key else '')


def subhost_record(project_id, cloud_id):
    return 'novajoin: subhost project=%s cloud=%s' % (project_id, cloud_id)


def description(host):
    value = host.get('description') or ['']
    value = value[0] if isinstance(value, list) and value else value
    return value if isinstance(value, str) else ''


def owner_of(host):
    """The ``Owner`` recorded on an instance's host entry, or None."""
    match = _OWNER.fullmatch(description(host))
    return Owner(*match.groups()[:3]) if match else None


def otp_key_of(host):
    """The key id of the OTP secret an owned host was made with, or None
    (a record from before key ids, or no owner record)."""
    match = _OWNER.fullmatch(description(host))
    return match.group(4) if match else None


def subhost_owner(host):
    """The ``SubhostOwner`` of a subhost entry (fields None for a legacy
    record), or None when the host is not a novajoin subhost."""
    match = _SUBHOST.fullmatch(description(host))
    return SubhostOwner(*match.groups()) if match else None


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

    def subhost_record(self, project_id):
        return subhost_record(project_id, self.id)

    def is_own_subhost(self, host):
        return self.ours(subhost_owner(host))

    def is_ours(self, host):
        """An instance host or a subhost of this cloud."""
        return self.owner(host) is not None or self.is_own_subhost(host)


def cloud_from_conf(conf):
    return Cloud(conf.join.cloud_id, conf.join.legacy_records)
