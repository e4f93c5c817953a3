"""Ownership records: what they say, where they are believed, which are this
cloud's."""
import pytest

from novajoin.hosts import records

IID = '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'
OTHER = '11111111-2222-4333-8444-555555555555'


def host(*userclass, description=None):
    """A host entry as IPA returns it: userclass values (a list) and, if
    given, the description."""
    entry = {'userclass': list(userclass)}
    if description is not None:
        entry['description'] = [description]
    return entry


def test_owner_record_round_trip_carries_instance_project_and_cloud():
    record = records.owner_record(IID, 'p1', 'cloud-a')
    entry = host(*records.owner_values(IID, 'p1', 'cloud-a'),
                 description=record)
    assert records.owner_of(entry) == (IID, 'p1', 'cloud-a')
    assert records.has_record(entry)
    assert not records.is_subhost(entry)


def test_owner_record_names_the_otp_key_it_was_made_with():
    entry = host(*records.owner_values(IID, 'p1', 'cloud-a', key='0a1b2c3d'))
    assert records.owner_of(entry) == (IID, 'p1', 'cloud-a')
    assert records.otp_key_of(entry) == '0a1b2c3d'
    assert records.otp_key_of(host(records.owner_record(IID, 'p1', 'c'))) is None
    for bad in ('0A1B2C3D', '0a1b2c3', '0a1b2c3d4', '0a1b2c3d x'):
        assert records.owner_of(host(records.owner_record(IID, 'p1', 'c') +
                                     ' key=' + bad)) is None


def test_subhost_record_round_trip_carries_project_and_cloud():
    entry = host(*records.subhost_values('p1', 'cloud-a'),
                 description=records.subhost_record('p1', 'cloud-a'))
    assert records.subhost_owner(entry) == ('p1', 'cloud-a')
    assert records.is_subhost(entry) and records.has_record(entry)
    assert records.owner_of(entry) is None


def test_legacy_records_parse_without_cloud_or_project():
    assert records.owner_of(host('novajoin: instance=%s project=p1' % IID)) == (
        IID, 'p1', None)
    assert records.subhost_owner(host('novajoin: subhost')) == (None, None)


def test_foreign_look_alike_or_missing_userclass_has_no_owner():
    assert records.owner_of({}) is None
    assert records.owner_of(host()) is None
    assert records.owner_of(host('web server')) is None
    assert records.owner_of(host('novajoin: instance=zzz project=p')) is None
    # whole-value match: nothing may follow or precede the record
    assert records.owner_of(host(records.owner_record(IID, 'p', 'c') + '\n')) is None
    assert records.owner_of(host('x' + records.owner_record(IID, 'p', 'c'))) is None
    assert records.subhost_owner(host('novajoin: subhost\n')) is None
    assert records.subhost_owner(host('novajoin: subhost project=p')) is None
    # the index values alone are no record
    index = host(records.instance_index(IID, 'c'), records.cloud_index('c'))
    assert records.owner_of(index) is None and records.subhost_owner(index) is None
    assert not records.has_record(index)


def test_a_record_in_the_description_alone_makes_no_owner():
    # the host itself may have written its description (IPA's default ACI)
    for entry in ({'description': [records.owner_record(IID, 'p1', 'cloud-a',
                                                        key='0a1b2c3d')]},
                  host('web', description=records.owner_record(IID, 'p1',
                                                               'cloud-a'))):
        assert records.owner_of(entry) is None
        assert records.otp_key_of(entry) is None
        assert records.subhost_owner(entry) is None
        assert not records.has_record(entry)
        assert not records.Cloud('cloud-a').is_ours(entry)
    sub = host(description=records.subhost_record('p1', 'cloud-a'))
    assert records.subhost_owner(sub) is None and not records.is_subhost(sub)
    assert not records.Cloud('cloud-a').is_own_subhost(sub)


def test_the_userclass_record_is_believed_whatever_the_description_says():
    entry = host(*records.owner_values(IID, 'p1', 'cloud-a'),
                 description=records.owner_record(OTHER, 'p2', 'cloud-a'))
    assert records.owner_of(entry) == (IID, 'p1', 'cloud-a')


def test_two_different_owner_records_make_no_owner():
    for first, second in [
            (records.owner_record(IID, 'p1', 'c'), records.owner_record(IID, 'p2', 'c')),
            (records.owner_record(IID, 'p1', 'c'), records.owner_record(OTHER, 'p1', 'c')),
            (records.owner_record(IID, 'p1', 'c', key='0a1b2c3d'),
             records.owner_record(IID, 'p1', 'c', key='ffffffff'))]:
        entry = host(first, second, records.cloud_index('c'))
        assert records.owner_of(entry) is None
        assert records.otp_key_of(entry) is None
        assert records.Cloud('c').owner(entry) is None
    two = host(records.subhost_record('p1', 'c'), records.subhost_record('p2', 'c'))
    assert records.subhost_owner(two) is None
    assert not records.Cloud('c').is_own_subhost(two)


def test_the_same_record_repeated_is_one_record():
    record = records.owner_record(IID, 'p1', 'c', key='0a1b2c3d')
    entry = host(record, record, records.cloud_index('c'))
    assert records.owner_of(entry) == (IID, 'p1', 'c')
    assert records.otp_key_of(entry) == '0a1b2c3d'
    sub = records.subhost_record('p1', 'c')
    assert records.subhost_owner(host(sub, sub)) == ('p1', 'c')


def test_described_record_is_the_descriptions_claim():
    owner = records.owner_record(IID, 'p1', 'c', key='0a1b2c3d')
    assert records.described_record({'description': [owner]}) == (
        (IID, 'p1', 'c'), None)
    assert records.described_record(
        {'description': [records.subhost_record('p1', 'c')]}) == (
        None, ('p1', 'c'))
    # what novajoin before the cloud identity wrote
    assert records.described_record({'description': ['novajoin: subhost']}) == (
        None, (None, None))
    # only the description: the userclass record is not a claim
    assert records.described_record(host(*records.owner_values(
        IID, 'p1', 'c'))) == (None, None)
    assert records.described_record(host(*records.owner_values(IID, 'p1', 'c'),
                                         description='web server')) == (None, None)
    assert records.described_record({}) == (None, None)


def test_without_records_keeps_a_hostclass_and_drops_novajoin_values():
    values = ['web'] + records.owner_values(IID, 'p1', 'c', key='0a1b2c3d')
    assert records.without_records(values) == ['web']
    assert records.without_records(records.subhost_values('p1', 'c')) == []
    assert records.without_records([]) == []


def test_owner_and_subhost_values_are_the_record_and_the_indexes():
    assert records.owner_values(IID, 'p1', 'cloud-a', key='0a1b2c3d') == [
        'novajoin: instance=%s project=p1 cloud=cloud-a key=0a1b2c3d' % IID,
        'novajoin: instance=%s cloud=cloud-a' % IID,
        'novajoin: cloud=cloud-a']
    assert records.owner_values(IID, 'p1', 'cloud-a')[0] == (
        'novajoin: instance=%s project=p1 cloud=cloud-a' % IID)
    assert records.subhost_values('p1', 'cloud-a') == [
        'novajoin: subhost project=p1 cloud=cloud-a', 'novajoin: cloud=cloud-a']
    cloud = records.Cloud('cloud-a')
    assert cloud.owner_values(IID, 'p1', key='0a1b2c3d') == records.owner_values(
        IID, 'p1', 'cloud-a', key='0a1b2c3d')
    assert cloud.subhost_values('p1') == records.subhost_values('p1', 'cloud-a')
    assert cloud.instance_index(IID) == 'novajoin: instance=%s cloud=cloud-a' % IID
    assert cloud.index() == 'novajoin: cloud=cloud-a'


def test_cloud_acts_only_on_its_own_records():
    mine, other = records.Cloud('cloud-a'), records.Cloud('cloud-b')
    entry = host(*records.owner_values(IID, 'p1', 'cloud-a'))
    assert mine.owner(entry) == (IID, 'p1', 'cloud-a')
    assert other.owner(entry) is None
    sub = host(*records.subhost_values('p1', 'cloud-a'))
    assert mine.is_own_subhost(sub) and not other.is_own_subhost(sub)
    assert mine.is_ours(entry) and not other.is_ours(sub)


def test_legacy_records_are_ours_only_when_configured():
    legacy = host('novajoin: instance=%s project=p1' % IID)
    assert records.Cloud('a').owner(legacy) is not None
    assert records.Cloud('a', legacy_records=False).owner(legacy) is None
    assert not records.Cloud('a', legacy_records=False).is_own_subhost(
        host('novajoin: subhost'))


@pytest.mark.parametrize('bad', ['', 'a b', 'x' * 65, 'cloud\n', 'a/b'])
def test_invalid_cloud_id_is_refused(bad):
    with pytest.raises(ValueError, match='cloud id'):
        records.Cloud(bad)


def test_an_owner_record_and_a_subhost_record_together_make_neither():
    host = {'userclass': [records.owner_record(IID, 'p1', 'cloud-a'),
                          records.subhost_record('p1', 'cloud-a')]}
    assert records.owner_of(host) is None
    assert records.subhost_owner(host) is None


# -- the rebuild record (novajoin.hosts.rearm) ---------------------------------

REQ = 'req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b'
OLD_REQ = 'req-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'


def test_rebuild_record_round_trip_gives_the_request_id_and_key():
    record = records.rebuild_record(REQ, '0a1b2c3d')
    assert record == 'novajoin: rebuild=%s key=0a1b2c3d' % REQ
    assert records.is_rebuild_record(record)
    entry = host(*records.owner_values(IID, 'p1', 'c', key='ffffffff'), record)
    assert records.generation_of(entry) == records.Generation(REQ, '0a1b2c3d', False)
    assert records.generation_of(entry).request_id == REQ
    assert records.generation_of(entry).key == '0a1b2c3d'


def test_a_host_never_reset_has_no_generation():
    assert records.generation_of({}) is None
    assert records.generation_of(host()) is None
    assert records.generation_of(host(*records.owner_values(
        IID, 'p1', 'c', key='0a1b2c3d'))) is None


def test_the_same_rebuild_record_twice_is_one_generation():
    record = records.rebuild_record(REQ, '0a1b2c3d')
    assert records.generation_of(host(record, record))[:2] == (REQ, '0a1b2c3d')


@pytest.mark.parametrize('second', [
    records.rebuild_record(OLD_REQ, '0a1b2c3d'),      # another rebuild
    records.rebuild_record(REQ, 'ffffffff')])         # another key
def test_two_different_rebuild_records_make_no_generation(second):
    entry = host(records.rebuild_record(REQ, '0a1b2c3d'), second)
    assert records.generation_of(entry) is None


@pytest.mark.parametrize('value', [
    'novajoin: rebuild=req-0C3F4A1E-2B6D-4E8F-9A0B-1C2D3E4F5A6B key=0a1b2c3d',
    'novajoin: rebuild=req-0c3f4a1e2b6d4e8f9a0b1c2d3e4f5a6b key=0a1b2c3d',
    'novajoin: rebuild=0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b key=0a1b2c3d',
    'novajoin: rebuild=req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6bx key=0a1b2c3d',
    'novajoin: rebuild=req-x key=0a1b2c3d',
    'novajoin: rebuild=%s' % REQ,                            # no key
    'novajoin: rebuild=%s key=0A1B2C3D' % REQ,
    'novajoin: rebuild=%s key=0a1b2c3' % REQ,
    'novajoin: rebuild=%s key=0a1b2c3d4' % REQ,
    'novajoin: rebuild=%s key=0a1b2c3d\n' % REQ,             # whole value
    ' novajoin: rebuild=%s key=0a1b2c3d' % REQ,
    'x' + records.rebuild_record(REQ, '0a1b2c3d'),
    records.rebuild_record(REQ, '0a1b2c3d') + ' project=p1',
    'novajoin:  rebuild=%s key=0a1b2c3d' % REQ])
def test_a_malformed_rebuild_record_is_none(value):
    assert not records.is_rebuild_record(value)
    assert records.generation_of(host(value)) is None
    # and it does not hide a good one beside it
    good = records.rebuild_record(OLD_REQ, '0a1b2c3d')
    assert records.generation_of(host(value, good))[:2] == (OLD_REQ, '0a1b2c3d')


def test_a_rebuild_record_is_no_owner_record_and_leaves_the_owner_alone():
    record = records.rebuild_record(REQ, '0a1b2c3d')
    assert records.owner_of(host(record)) is None
    assert not records.has_record(host(record))
    entry = host(*records.owner_values(IID, 'p1', 'c', key='ffffffff'), record)
    assert records.owner_of(entry) == (IID, 'p1', 'c')
    assert records.otp_key_of(entry) == 'ffffffff'
    assert records.Cloud('c').owner(entry) == (IID, 'p1', 'c')
    # novajoin's own value: not kept as a host class
    assert records.without_records(['web', record]) == ['web']


def test_a_rebuild_record_in_the_description_alone_is_not_believed():
    entry = {'description': [records.rebuild_record(REQ, '0a1b2c3d')]}
    assert records.generation_of(entry) is None


def test_an_armed_rebuild_record_says_so():
    record = records.rebuild_record(REQ, '0a1b2c3d', armed=True)
    assert record == 'novajoin: rebuild=%s key=0a1b2c3d armed' % REQ
    assert records.generation_of(host(record)) == (REQ, '0a1b2c3d', True)
    assert records.generation_of(host(records.rebuild_record(
        REQ, '0a1b2c3d'))).armed is False
    for bad in (record + ' armed', record + 'x', record.replace(' armed', 'armed')):
        assert not records.is_rebuild_record(bad)
    # pending and armed together (two values): neither is believed
    assert records.generation_of(host(record, records.rebuild_record(
        REQ, '0a1b2c3d'))) is None
