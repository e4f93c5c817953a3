from novajoin import ownership

IID = '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'


def test_record_round_trip():
    host = {'description': [ownership.owner_record(IID, 'p1')]}
    assert ownership.owner_of(host) == (IID, 'p1')
    assert not ownership.is_subhost(host)


def test_foreign_or_missing_description_has_no_owner():
    assert ownership.owner_of({}) is None
    assert ownership.owner_of({'description': ['web server']}) is None
    assert ownership.owner_of({'description': ['novajoin: instance=zzz project=p']}) is None


def test_subhost_marker():
    assert ownership.is_subhost({'description': [ownership.SUBHOST]})
    assert ownership.owner_of({'description': [ownership.SUBHOST]}) is None
