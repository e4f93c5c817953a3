"""Ownership records: what they say, and which are this cloud's."""
import pytest

from novajoin.hosts import records

IID = '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'


def host(description):
    return {'description': [description]}


def test_owner_record_round_trip_carries_instance_project_and_cloud():
    entry = host(records.owner_record(IID, 'p1', 'cloud-a'))
    assert records.owner_of(entry) == (IID, 'p1', 'cloud-a')
    assert not records.is_subhost(entry)


def test_owner_record_names_the_otp_key_it_was_made_with():
    entry = host(records.owner_record(IID, 'p1', 'cloud-a', key='0a1b2c3d'))
    assert records.owner_of(entry) == (IID, 'p1', 'cloud-a')
    assert records.otp_key_of(entry) == '0a1b2c3d'
    assert records.otp_key_of(host(records.owner_record(IID, 'p1', 'c'))) is None
    for bad in ('0A1B2C3D', '0a1b2c3', '0a1b2c3d4', '0a1b2c3d x'):
        assert records.owner_of(host(records.owner_record(IID, 'p1', 'c') +
                                     ' key=' + bad)) is None


def test_subhost_record_round_trip_carries_project_and_cloud():
    entry = host(records.subhost_record('p1', 'cloud-a'))
    assert records.subhost_owner(entry) == ('p1', 'cloud-a')
    assert records.owner_of(entry) is None


def test_legacy_records_parse_without_cloud_or_project():
    assert records.owner_of(host('novajoin: instance=%s project=p1' % IID)) == (
        IID, 'p1', None)
    assert records.subhost_owner(host('novajoin: subhost')) == (None, None)


def test_foreign_look_alike_or_missing_description_has_no_owner():
    assert records.owner_of({}) is None
    assert records.owner_of(host('web server')) is None
    assert records.owner_of(host('novajoin: instance=zzz project=p')) is None
    # whole-string match: nothing may follow or precede the record
    assert records.owner_of(host(records.owner_record(IID, 'p', 'c') + '\n')) is None
    assert records.owner_of(host('x' + records.owner_record(IID, 'p', 'c'))) is None
    assert records.subhost_owner(host('novajoin: subhost\n')) is None
    assert records.subhost_owner(host('novajoin: subhost project=p')) is None


def test_cloud_acts_only_on_its_own_records():
    mine, other = records.Cloud('cloud-a'), records.Cloud('cloud-b')
    entry = host(records.owner_record(IID, 'p1', 'cloud-a'))
    assert mine.owner(entry) == (IID, 'p1', 'cloud-a')
    assert other.owner(entry) is None
    sub = host(records.subhost_record('p1', 'cloud-a'))
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
