"""A rebuilt instance's host: drop the old guest's keys, arm a new OTP.

nova's rebuild reinstalls the guest under the same instance id. IPA still
holds the keys the old guest enrolled with, so the new guest would be told
"already enrolled" forever. ``rearm`` resets the host for one rebuild, named
by nova's request id of that rebuild (its instance action), which becomes the
OTP's generation: OTP = HMAC(secret, fqdn, instance, request id). Every worker
and replica derives the same new OTP; the old guest's users, who could read
the old one, cannot derive it.

The generation is recorded in userclass (``novajoin: rebuild=<request id>
key=<key id>``, ``novajoin.hosts.records``), which the host cannot write,
first and alone; the password is set in one modify with the record marked
``armed``. Every state then says how far a reset got, so a retried or
replayed notification finishes the same reset or does nothing -- and never
arms a host again once this reset armed it (an administrator may disable it
after the new guest enrolled: that stands).

| recorded generation | keys | password | meaning: do |
|---|---|---|---|
| any | newer than the rebuild | - | the new guest enrolled: nothing |
| this one, armed | - | - | done (since disabled by an administrator, maybe): nothing |
| this one | older than the rebuild | - | disable, arm |
| this one | none | - | disabled by this reset (or never enrolled): arm |
| other | older than the rebuild | - | record, disable, arm |
| other | none | yes | the old guest never enrolled: record, arm |
| other | none | none | an administrator disabled it: nothing (logged) |

A host IPA made after the rebuild began is the new guest's already.
"""
import collections
import datetime
import logging

from novajoin.hosts import records
from novajoin.hosts import store
from novajoin.ipa import errors

LOG = logging.getLogger(__name__)

Rebuild = collections.namedtuple('Rebuild', 'request_id started')

# what each outcome of ``plan`` that changes nothing means, for the log
SAID = {'new_host': 'was made for the rebuilt guest: unchanged',
        'enrolled': 'has enrolled the rebuilt guest: unchanged',
        'armed': 'is armed for this rebuild already: unchanged',
        'disabled': 'was disabled by an administrator: not armed again'}


def otp_of(otps, fqdn, instance_id, host):
    """The OTP an existing host is armed with: of its latest rebuild, else
    of the secret it was made with."""
    generation = records.generation_of(host)
    if generation is not None:
        return otps.otp(fqdn, instance_id, generation.key,
                        generation=generation.request_id)
    return otps.otp_of_record(fqdn, instance_id, records.otp_key_of(host))


def keys_set_at(host):
    """Unix time IPA last set the host's keys (krbLastPwdChange), or None."""
    value = store.first(host, 'krblastpwdchange')
    if isinstance(value, dict):
        value = value.get('__datetime__')
    try:
        stamp = datetime.datetime.strptime(value, '%Y%m%d%H%M%SZ')
    except (TypeError, ValueError):
        return None
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


def plan(host, rebuild):
    """What a reset of ``host`` for ``rebuild`` still needs: a word for what
    is left alone, or the steps ('record', 'disable', 'arm') to take."""
    # Times compare nova's clock with IPA's (both NTP-kept in a cloud): a
    # guest takes far longer to boot and enroll than they may differ.
    born = store.created_at(host)
    if born is not None and born > rebuild.started:
        return 'new_host'       # made for the rebuilt guest: its own already
    keys = store.has_keys(host)
    keys_at = keys_set_at(host) if keys else None
    if keys and keys_at is not None and keys_at > rebuild.started:
        return 'enrolled'       # the rebuilt guest enrolled
    generation = records.generation_of(host)
    if generation is not None and generation.request_id == rebuild.request_id:
        if generation.armed:
            return 'armed'
        return ('disable', 'arm') if keys else ('arm',)
    if not keys and not host.get('has_password'):
        return 'disabled'       # an administrator's disable stands
    return ('record', 'disable', 'arm') if keys else ('record', 'arm')


def rearm(ipa, otps, host, instance_id, rebuild):
    """Reset ``host`` (an owned host entry, ``host_show/_find all``) for
    ``rebuild``; returns the outcome word. Transient IPA errors propagate
    (the notification is retried and resumes where this stopped)."""
    fqdn = store.first(host, 'fqdn', '').lower()
    # host_find leaves out has_keytab/has_password, and a retry must see
    # how far an earlier attempt got: read the entry now
    host = ipa.call('host_show', fqdn, all=True)['result']
    steps = plan(host, rebuild)
    if isinstance(steps, str):
        return steps
    old = [v for v in records.userclasses(host) if records.is_rebuild_record(v)]
    if 'record' in steps:
        key = otps.key_id
        pending = records.rebuild_record(rebuild.request_id, key)
        # first and alone: from here on, IPA says which reset is under way
        options = {'addattr': ['userclass=' + pending]}
        if old:
            options['delattr'] = ['userclass=' + v for v in old]
        ipa.call('host_mod', fqdn, **options)
        old = [pending]
    else:
        key = records.generation_of(host).key
    calls = []
    if 'disable' in steps:
        calls.append(('host_disable', [fqdn], {}))
    # the password and the "armed" mark in one LDAP modify
    calls.append(('host_mod', [fqdn], {
        'userpassword': otps.otp(fqdn, instance_id, key,
                                 generation=rebuild.request_id),
        'addattr': ['userclass=' + records.rebuild_record(
            rebuild.request_id, key, armed=True)],
        'delattr': ['userclass=' + v for v in old]}))
    for result in ipa.batch(calls):
        if isinstance(result, errors.AlreadyInactive):
            continue            # a concurrent reset disabled it
        if isinstance(result, Exception):
            raise result
    return 'reset'
