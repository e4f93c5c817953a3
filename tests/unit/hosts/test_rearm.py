"""Resetting a rebuilt instance's host: the plan for each state of the host
(the table in novajoin/hosts/rearm.py), the IPA calls a reset makes, and the
OTP an existing host is armed with."""
import logging
import time
import uuid

import pytest

from novajoin import otp as otp_mod
from novajoin.dev.fake_ipa import IPAFault
from novajoin.hosts import rearm
from novajoin.hosts import records
from novajoin.ipa import errors
from tests.unit.conftest import SECRET
from tests.unit.notify import payloads

VM = payloads.NOVA_INSTANCE
FQDN = 'vm1.example.test'
REQ = 'req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b'        # this rebuild
OLD_REQ = 'req-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'    # an earlier one
NEW_SECRET = 'n' * 40
KEY = otp_mod.key_id(SECRET)
STARTED = 1796362800                                      # 2026-12-04 05:40Z
REBUILD = rearm.Rebuild(REQ, STARTED)
OTPS = otp_mod.OTPSource(SECRET)


def stamp(unix):
    """krbLastPwdChange as IPA's JSON-RPC returns it (all=True)."""
    return [{'__datetime__': time.strftime('%Y%m%d%H%M%SZ', time.gmtime(unix))}]


def uuid_at(unix):
    """A time-based ipaUniqueID of an entry IPA made at ``unix``."""
    ticks = int(unix * 1e7) + 0x01b21dd213814000
    return str(uuid.UUID(fields=(ticks & 0xffffffff, (ticks >> 32) & 0xffff,
                                 ((ticks >> 48) & 0x0fff) | 0x1000, 0x80, 0, 1)))


def entry(keys_at=None, keys=None, password=False, generation=None,
          born=STARTED - 86400, key=KEY, armed=False):
    """A host entry as host_show all=True returns it. ``keys_at``: Unix time
    of its keys (krbLastPwdChange); ``keys``: it has keys (True by default
    when keys_at is given); ``generation``: the request id of the rebuild
    it was reset for, if any."""
    userclass = records.owner_values(VM, 'p1', 'default', key=KEY)
    if generation:
        userclass.append(records.rebuild_record(generation, key, armed))
    host = {'fqdn': [FQDN], 'userclass': userclass,
            'has_keytab': bool(keys_at) if keys is None else keys,
            'has_password': password}
    if keys_at:
        host['krblastpwdchange'] = stamp(keys_at)
    if born is not None:
        host['ipauniqueid'] = [uuid_at(born)]
    return host


def arm_options(pending=None):
    """The arming host_mod: the password and the record marked armed, in
    one modify."""
    pending = pending or records.rebuild_record(REQ, KEY)
    return {'userpassword': new_otp(),
            'addattr': ['userclass=' + records.rebuild_record(REQ, KEY,
                                                              armed=True)],
            'delattr': ['userclass=' + pending]}


OLD_KEYS = STARTED - 3600          # the old guest enrolled an hour before
NEW_KEYS = STARTED + 300           # the new guest, after the rebuild


# -- plan(): every row of the table -------------------------------------------

@pytest.mark.parametrize('generation', [None, OLD_REQ, REQ])
def test_keys_newer_than_the_rebuild_mean_the_new_guest_enrolled(generation):
    assert rearm.plan(entry(NEW_KEYS, generation=generation),
                      REBUILD) == 'enrolled'


@pytest.mark.parametrize('generation', [None, OLD_REQ])
def test_another_generation_with_old_keys_is_recorded_disabled_and_armed(
        generation):
    assert rearm.plan(entry(OLD_KEYS, generation=generation), REBUILD) == (
        'record', 'disable', 'arm')


@pytest.mark.parametrize('generation', [None, OLD_REQ])
def test_another_generation_never_enrolled_is_recorded_and_armed(generation):
    # the old guest never used its OTP: nothing to disable
    assert rearm.plan(entry(password=True, generation=generation),
                      REBUILD) == ('record', 'arm')


@pytest.mark.parametrize('generation', [None, OLD_REQ])
def test_another_generation_without_keys_or_password_is_an_admins_disable(
        generation):
    assert rearm.plan(entry(generation=generation), REBUILD) == 'disabled'


def test_this_generation_with_old_keys_is_disabled_and_armed():
    # the record was written, then the reset stopped
    assert rearm.plan(entry(OLD_KEYS, generation=REQ), REBUILD) == (
        'disable', 'arm')


def test_this_generation_disabled_without_password_is_only_armed():
    assert rearm.plan(entry(generation=REQ), REBUILD) == ('arm',)


def test_this_generation_armed_is_done_whatever_happened_since():
    # armed; then the new guest enrolled; then an administrator disabled it
    for state in ({'password': True}, {}, {'keys_at': OLD_KEYS}):
        assert rearm.plan(entry(generation=REQ, armed=True, **state),
                          REBUILD) == 'armed'


def test_this_generation_not_armed_yet_with_the_old_guests_password_arms():
    # the old guest never enrolled: the record was written, the arm failed
    assert rearm.plan(entry(password=True, generation=REQ), REBUILD) == ('arm',)


# -- plan(): the host's age and the age of its keys ---------------------------

SKEW = getattr(rearm, 'CLOCK_SKEW', 0)


@pytest.mark.parametrize('generation,keys_at', [
    (None, None), (None, OLD_KEYS), (OLD_REQ, OLD_KEYS)])
def test_a_host_made_after_the_rebuild_began_is_the_new_guests(generation,
                                                               keys_at):
    # keys older than the rebuild cannot be on a host made after it; the
    # host's birth decides before anything else
    for born in (STARTED - SKEW + 1, STARTED + 60):
        host = entry(keys_at, password=keys_at is None, generation=generation,
                     born=born)
        assert rearm.plan(host, REBUILD) == 'new_host'


def test_a_host_made_before_the_rebuild_is_reset():
    host = entry(OLD_KEYS, born=STARTED - SKEW - 1)
    assert rearm.plan(host, REBUILD) == ('record', 'disable', 'arm')


def test_a_host_of_unknown_age_is_judged_by_its_keys():
    # no ipaUniqueID, or not a time-based one
    assert rearm.plan(entry(OLD_KEYS, born=None), REBUILD)[0] == 'record'
    host = entry(OLD_KEYS)
    host['ipauniqueid'] = [str(uuid.uuid4())]
    assert rearm.plan(host, REBUILD)[0] == 'record'


@pytest.mark.parametrize('generation,steps', [
    (None, ('record', 'disable', 'arm')), (REQ, ('disable', 'arm'))])
def test_keys_without_krblastpwdchange_count_as_old_keys(generation, steps):
    host = entry(keys=True, generation=generation)
    assert 'krblastpwdchange' not in host
    assert rearm.plan(host, REBUILD) == steps
    host['krblastpwdchange'] = [{'__datetime__': 'garbage'}]
    assert rearm.plan(host, REBUILD) == steps


def test_keys_set_at_reads_ipas_generalized_time():
    assert rearm.keys_set_at({'krblastpwdchange': stamp(STARTED)}) == STARTED
    assert rearm.keys_set_at(
        {'krblastpwdchange': ['20261204054000Z']}) == STARTED
    assert rearm.keys_set_at({}) is None
    assert rearm.keys_set_at({'krblastpwdchange': [{'__datetime__': 7}]}) is None


def test_keys_set_exactly_when_the_rebuild_began_are_old():
    assert rearm.plan(entry(STARTED), REBUILD)[0] == 'record'


def test_a_record_of_this_rebuild_with_another_key_is_still_this_generation():
    # a secret rotated after the record was written
    host = entry(generation=REQ, key=otp_mod.key_id(NEW_SECRET))
    assert rearm.plan(host, REBUILD) == ('arm',)


def test_two_different_rebuild_records_are_no_generation():
    host = entry(password=True, generation=REQ)
    host['userclass'].append(records.rebuild_record(OLD_REQ, KEY))
    assert rearm.plan(host, REBUILD) == ('record', 'arm')


# -- rearm(): the calls a reset makes, against the IPA stand-in ---------------

class Spy:
    """The IPA client, with every call and batch it was asked for."""

    def __init__(self, ipa, before_batch=None):
        self.ipa = ipa
        self.log = []
        self.before_batch = before_batch

    def call(self, method, *args, **options):
        self.log.append(('call', method, list(args), options))
        return self.ipa.call(method, *args, **options)

    def batch(self, calls, **kwargs):
        self.log.append(('batch', [(m, list(a), dict(o)) for m, a, o in calls]))
        if self.before_batch:
            self.before_batch()
        return self.ipa.batch(calls, **kwargs)

    def writes(self):
        return [c for c in self.log if c[:2] != ('call', 'host_show')]


@pytest.fixture
def vm1(enroll, ipa):
    """An instance's host, made by novajoin-server; the old guest enrolled an
    hour before the rebuild."""
    fqdn = enroll(VM, 'vm1')
    ipa.enroll(fqdn, OTPS.otp(fqdn, VM), at=OLD_KEYS)
    return fqdn


def owned(host_ops):
    (host,) = host_ops.owned_by(VM)
    return host


def new_otp(source=OTPS, key=KEY, generation=REQ):
    return source.otp(FQDN, VM, key, generation=generation)


@pytest.mark.parametrize('earlier', [False, True])
def test_a_full_reset_writes_the_record_first_and_alone_then_one_batch(
        earlier, vm1, ipa, ipa_client, host_ops):
    if earlier:     # reset for an earlier rebuild already
        ipa.hosts[vm1]['userclass'].append(records.rebuild_record(OLD_REQ, KEY))
    host = owned(host_ops)
    spy = Spy(ipa_client)
    ipa.calls.clear()
    assert rearm.rearm(spy, OTPS, host, VM, REBUILD) == 'reset'

    mod = {'addattr': ['userclass=' + records.rebuild_record(REQ, KEY)]}
    if earlier:
        mod['delattr'] = ['userclass=' + records.rebuild_record(OLD_REQ, KEY)]
    assert spy.writes() == [
        ('call', 'host_mod', [vm1], mod),
        ('batch', [('host_disable', [vm1], {}),
                   ('host_mod', [vm1], arm_options())])]
    assert ipa.calls == ['host_show', 'host_mod', 'batch', 'host_disable',
                         'host_mod']
    host = ipa_client.call('host_show', vm1, all=True)['result']
    assert not host['has_keytab'] and host['has_password']
    assert 'krblastpwdchange' not in host
    assert ipa.hosts[vm1]['_password'] == new_otp()
    assert records.generation_of(host)[:2] == (REQ, KEY)
    assert [v for v in host['userclass'] if records.is_rebuild_record(v)] == [
        records.rebuild_record(REQ, KEY, armed=True)]
    assert records.owner_of(host) == (VM, payloads.NOVA_PROJECT, 'default')


def test_the_new_otp_is_of_the_rebuild_and_not_the_creation_otp(vm1, ipa,
                                                                ipa_client,
                                                                host_ops):
    rearm.rearm(ipa_client, OTPS, owned(host_ops), VM, REBUILD)
    armed = ipa.hosts[vm1]['_password']
    assert armed == OTPS.otp(vm1, VM, OTPS.key_id, generation=REQ)
    assert armed != OTPS.otp(vm1, VM)
    assert armed != OTPS.otp(vm1, VM, generation=OLD_REQ)
    # the new guest enrolls with it; the creation OTP is worth nothing
    with pytest.raises(IPAFault):
        ipa.enroll(vm1, OTPS.otp(vm1, VM))
    ipa.enroll(vm1, armed)


def test_an_interrupted_reset_is_only_armed(vm1, ipa, ipa_client, host_ops):
    # record written and host disabled, then the password never set
    ipa_client.call('host_mod', vm1, addattr=[
        'userclass=' + records.rebuild_record(REQ, KEY)])
    ipa_client.call('host_disable', vm1)
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'reset'
    assert spy.writes() == [
        ('batch', [('host_mod', [vm1], arm_options())])]
    assert ipa.hosts[vm1]['_password'] == new_otp()


def test_a_reset_stopped_after_the_record_disables_and_arms(
        vm1, ipa, ipa_client, host_ops):
    ipa_client.call('host_mod', vm1, addattr=[
        'userclass=' + records.rebuild_record(REQ, KEY)])
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'reset'
    assert spy.writes() == [
        ('batch', [('host_disable', [vm1], {}),
                   ('host_mod', [vm1], arm_options())])]


def test_a_second_reset_for_the_same_rebuild_changes_nothing(vm1, ipa,
                                                             ipa_client,
                                                             host_ops):
    rearm.rearm(ipa_client, OTPS, owned(host_ops), VM, REBUILD)
    before = repr(ipa.hosts)
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'armed'
    assert spy.writes() == []
    assert repr(ipa.hosts) == before


def test_after_the_new_guest_enrolled_a_reset_changes_nothing(vm1, ipa,
                                                              ipa_client,
                                                              host_ops):
    rearm.rearm(ipa_client, OTPS, owned(host_ops), VM, REBUILD)
    ipa.enroll(vm1, new_otp(), at=NEW_KEYS)
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'enrolled'
    assert spy.writes() == []
    assert ipa.hosts[vm1]['_keytab']


def test_a_host_an_administrator_disabled_is_never_armed(vm1, ipa, ipa_client,
                                                         host_ops):
    ipa_client.call('host_disable', vm1)
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'disabled'
    assert spy.writes() == []
    host = ipa_client.call('host_show', vm1, all=True)['result']
    assert not host['has_keytab'] and not host['has_password']
    assert records.generation_of(host) is None


def test_a_host_disabled_after_an_earlier_reset_is_never_armed(vm1, ipa,
                                                               ipa_client,
                                                               host_ops):
    rearm.rearm(ipa_client, OTPS, owned(host_ops), VM,
                rearm.Rebuild(OLD_REQ, OLD_KEYS + 600))
    ipa.enroll(vm1, new_otp(generation=OLD_REQ), at=OLD_KEYS + 900)
    ipa_client.call('host_disable', vm1)
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'disabled'
    assert spy.writes() == []


def test_the_host_is_read_again_not_taken_from_host_find(vm1, ipa, ipa_client,
                                                         host_ops):
    stale = owned(host_ops)
    stale.pop('has_keytab', None)          # host_find leaves it out
    stale.pop('has_password', None)
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, stale, VM, REBUILD) == 'reset'
    assert spy.log[0] == ('call', 'host_show', [vm1], {'all': True})


def test_already_inactive_from_a_concurrent_reset_is_tolerated(
        vm1, ipa, ipa_client, host_ops):
    # another worker disabled the host between the read and the batch
    spy = Spy(ipa_client, before_batch=lambda: ipa.cmd_host_disable(vm1))
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'reset'
    assert ipa.hosts[vm1]['_password'] == new_otp()


def test_another_failure_in_the_batch_is_raised_and_the_reset_resumes(
        vm1, ipa, ipa_client, host_ops, monkeypatch):
    def refused(fqdn, **_):
        raise IPAFault(2100, 'ACIError', 'Insufficient access')
    monkeypatch.setattr(ipa, 'cmd_host_disable', refused)
    with pytest.raises(errors.ACIError):
        rearm.rearm(ipa_client, OTPS, owned(host_ops), VM, REBUILD)
    host = ipa_client.call('host_show', vm1, all=True)['result']
    assert host['has_keytab'] and not host['has_password']
    assert records.generation_of(host)[:2] == (REQ, KEY)     # written first

    monkeypatch.undo()                                   # the retry
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'reset'
    assert [c[0] for c in spy.writes()] == ['batch']
    assert ipa.hosts[vm1]['_password'] == new_otp()


def test_a_failure_of_the_password_in_the_batch_is_raised(vm1, ipa, ipa_client,
                                                          host_ops, monkeypatch):
    real = ipa.cmd_host_mod

    def host_mod(fqdn, **options):
        if 'userpassword' in options:
            raise IPAFault(4203, 'DatabaseError', 'Server is unwilling')
        return real(fqdn, **options)
    monkeypatch.setattr(ipa, 'cmd_host_mod', host_mod)
    with pytest.raises(errors.IPACommandError):
        rearm.rearm(ipa_client, OTPS, owned(host_ops), VM, REBUILD)


def test_no_otp_is_ever_logged(vm1, ipa, ipa_client, host_ops, caplog):
    with caplog.at_level(logging.DEBUG):
        rearm.rearm(ipa_client, OTPS, owned(host_ops), VM, REBUILD)
        rearm.rearm(ipa_client, OTPS, owned(host_ops), VM, REBUILD)
    assert caplog.records                 # the IPA client did log
    for secret in (new_otp(), OTPS.otp(vm1, VM), SECRET):
        assert secret not in caplog.text


def test_a_reset_after_rotation_arms_with_the_current_secret(enroll, ipa,
                                                             ipa_client,
                                                             host_ops):
    # the host was made with SECRET; NEW_SECRET is current now
    fqdn = enroll(VM, 'vm1')
    ipa.enroll(fqdn, OTPS.otp(fqdn, VM), at=OLD_KEYS)
    rotated = otp_mod.OTPSource(NEW_SECRET, previous=[SECRET])
    assert rearm.rearm(ipa_client, rotated, owned(host_ops), VM,
                       REBUILD) == 'reset'
    new_key = otp_mod.key_id(NEW_SECRET)
    host = owned(host_ops)
    assert records.generation_of(host)[:2] == (REQ, new_key)
    assert ipa.hosts[fqdn]['_password'] == otp_mod.OTPSource(NEW_SECRET).otp(
        fqdn, VM, generation=REQ)
    assert rearm.otp_of(rotated, fqdn, VM, host) == ipa.hosts[fqdn]['_password']


def test_an_interrupted_reset_resumes_with_the_key_it_recorded(vm1, ipa,
                                                               ipa_client,
                                                               host_ops):
    # recorded with SECRET's key; the secret was rotated before the retry
    ipa_client.call('host_mod', vm1, addattr=[
        'userclass=' + records.rebuild_record(REQ, KEY)])
    rotated = otp_mod.OTPSource(NEW_SECRET, previous=[SECRET])
    assert rearm.rearm(ipa_client, rotated, owned(host_ops), VM,
                       REBUILD) == 'reset'
    assert ipa.hosts[vm1]['_password'] == OTPS.otp(vm1, VM, generation=REQ)


def test_a_host_the_new_guest_made_is_left_alone(enroll, ipa, ipa_client,
                                                 host_ops):
    # the old guest never asked for a host; the new one did, after the
    # rebuild began, and holds its OTP
    fqdn = enroll(VM, 'vm1')
    ipa.hosts[fqdn]['ipauniqueid'] = [uuid_at(STARTED + 120)]
    before = repr(ipa.hosts)
    spy = Spy(ipa_client)
    assert rearm.rearm(spy, OTPS, owned(host_ops), VM, REBUILD) == 'new_host'
    assert spy.writes() == [] and repr(ipa.hosts) == before
    assert ipa.hosts[fqdn]['_password'] == OTPS.otp(fqdn, VM)


# -- otp_of(): the OTP an existing host is armed with -------------------------

def test_otp_of_a_host_never_reset_is_its_creation_otp():
    host = entry(password=True)
    assert rearm.otp_of(OTPS, FQDN, VM, host) == OTPS.otp(FQDN, VM)
    assert rearm.otp_of(OTPS, FQDN, VM, host) == OTPS.otp_of_record(
        FQDN, VM, records.otp_key_of(host))


def test_otp_of_a_reset_host_is_of_its_generation_and_key():
    host = entry(password=True, generation=REQ)
    assert rearm.otp_of(OTPS, FQDN, VM, host) == OTPS.otp(
        FQDN, VM, KEY, generation=REQ)
    assert rearm.otp_of(OTPS, FQDN, VM, host) != OTPS.otp(FQDN, VM)


def test_otp_of_uses_the_key_of_the_rebuild_record_not_of_the_owner_record():
    rotated = otp_mod.OTPSource(NEW_SECRET, previous=[SECRET])
    new_key = otp_mod.key_id(NEW_SECRET)
    # made with SECRET, reset after the rotation: NEW_SECRET's OTP
    host = entry(password=True, generation=REQ, key=new_key)
    assert records.otp_key_of(host) == KEY
    assert rearm.otp_of(rotated, FQDN, VM, host) == otp_mod.OTPSource(
        NEW_SECRET).otp(FQDN, VM, generation=REQ)
    # reset with SECRET, read after the rotation: still SECRET's
    host = entry(password=True, generation=REQ)
    assert rearm.otp_of(rotated, FQDN, VM, host) == OTPS.otp(
        FQDN, VM, generation=REQ)


def test_otp_of_a_host_made_before_a_rotation_is_the_previous_secrets():
    rotated = otp_mod.OTPSource(NEW_SECRET, previous=[SECRET])
    assert rearm.otp_of(rotated, FQDN, VM, entry(password=True)) == OTPS.otp(
        FQDN, VM)
    legacy = {'userclass': ['novajoin: instance=%s project=p1' % VM]}
    assert rearm.otp_of(rotated, FQDN, VM, legacy) == OTPS.otp(FQDN, VM)


def test_otp_of_a_host_with_two_rebuild_records_is_its_creation_otp():
    host = entry(password=True, generation=REQ)
    host['userclass'].append(records.rebuild_record(OLD_REQ, KEY))
    assert rearm.otp_of(OTPS, FQDN, VM, host) == OTPS.otp(FQDN, VM)


def test_otp_of_a_dropped_secret_is_an_unknown_key():
    gone = otp_mod.key_id('g' * 40)
    with pytest.raises(otp_mod.UnknownKey):
        rearm.otp_of(OTPS, FQDN, VM, entry(password=True, generation=REQ,
                                           key=gone))


# -- the IPA stand-in does what FreeIPA 4.12 does for a reset ------------------

def test_stand_in_host_mod_adds_then_deletes_attribute_values(ipa, ipa_client):
    ipa_client.call('host_add', 'h.example.test', force=True,
                    userclass=['a', 'b'])
    ipa_client.call('host_mod', 'h.example.test', addattr=['userclass=c'],
                    delattr=['userclass=a'])
    assert ipa.hosts['h.example.test']['userclass'] == ['b', 'c']
    with pytest.raises(errors.AttrValueNotFound):
        ipa_client.call('host_mod', 'h.example.test', delattr=['userclass=a'])
    with pytest.raises(errors.EmptyModlist):
        ipa_client.call('host_mod', 'h.example.test', addattr=['userclass=b'])
    # added and deleted in one call: nothing (IPA evaluates delattr last)
    with pytest.raises(errors.EmptyModlist):
        ipa_client.call('host_mod', 'h.example.test', addattr=['userclass=d'],
                        delattr=['userclass=d'])
    assert ipa.hosts['h.example.test']['userclass'] == ['b', 'c']


def test_stand_in_host_disable_removes_keys_and_keeps_a_password(
        ipa, enroll, ipa_client):
    fqdn = enroll(VM, 'vm1')
    with pytest.raises(errors.AlreadyInactive):         # nothing to remove
        ipa_client.call('host_disable', fqdn)
    assert ipa_client.call('host_show', fqdn)['result']['has_password']
    ipa.enroll(fqdn, OTPS.otp(fqdn, VM), at=OLD_KEYS)
    shown = ipa_client.call('host_show', fqdn, all=True)['result']
    assert shown['krblastpwdchange'] == stamp(OLD_KEYS)
    assert 'krblastpwdchange' not in ipa_client.call('host_show',
                                                     fqdn)['result']
    ipa_client.call('host_disable', fqdn)
    shown = ipa_client.call('host_show', fqdn, all=True)['result']
    assert not shown['has_keytab'] and not shown['has_password']
    assert 'krblastpwdchange' not in shown
    with pytest.raises(errors.AlreadyInactive):
        ipa_client.call('host_disable', fqdn)
