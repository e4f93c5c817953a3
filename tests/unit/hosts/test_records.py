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
