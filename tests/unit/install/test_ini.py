"""novajoin.install.ini: the line-based editor of oslo.config ini files."""
from novajoin.install.ini import IniDocument
from tests.unit.install.conftest import NOVA_CONF


def test_set_replaces_in_place_and_keeps_everything_else():
    doc = IniDocument(NOVA_CONF)
    assert doc.set('DEFAULT', 'my_ip', '10.0.0.2')
    lines = doc.text().splitlines()
    assert lines[3] == 'my_ip = 10.0.0.2'
    assert doc.text().replace('10.0.0.2', '10.0.0.1') == NOVA_CONF


def test_set_same_value_changes_nothing():
    doc = IniDocument(NOVA_CONF)
    assert not doc.set('DEFAULT', 'my_ip', '10.0.0.1')
    assert doc.text() == NOVA_CONF


def test_new_option_goes_under_its_commented_sample():
    doc = IniDocument(NOVA_CONF)
    doc.set('api', 'vendordata_providers', 'StaticJSON,DynamicJSON')
    lines = doc.text().splitlines()
    i = lines.index('#vendordata_providers = StaticJSON')
    assert lines[i + 1] == 'vendordata_providers = StaticJSON,DynamicJSON'
    assert lines[i + 2] == 'auth_strategy = keystone'


def test_new_option_without_sample_ends_its_section():
    doc = IniDocument(NOVA_CONF)
    doc.set('DEFAULT', 'debug', 'true')
    lines = doc.text().splitlines()
    assert lines[lines.index('my_ip = 10.0.0.1') + 1] == 'debug = true'
    assert lines[lines.index('debug = true') + 2] == '[api]'


def test_new_section_is_appended_after_a_blank_line():
    doc = IniDocument('[a]\nx = 1\n')
    doc.set('b', 'y', '2')
    assert doc.text() == '[a]\nx = 1\n\n[b]\ny = 2\n'
    assert IniDocument('').text() == ''
    empty = IniDocument('')
    empty.set('b', 'y', '2')
    assert empty.text() == '[b]\ny = 2\n'


def test_continuation_lines_belong_to_the_option():
    doc = IniDocument('[a]\nx = one\n  two\ny = 3\n')
    assert doc.get('a', 'x') == 'one\ntwo'
    doc.set('a', 'x', 'single')
    assert doc.text() == '[a]\nx = single\ny = 3\n'


def test_last_occurrence_wins_and_quotes_are_stripped():
    doc = IniDocument('[a]\nx = 1\n[b]\nx = 9\n[a]\nx = "2"\n')
    assert doc.get('a', 'x') == '2'
    assert doc.get_all('a', 'x') == ['1', '2']
    doc.set('a', 'x', '3')
    assert doc.text() == '[a]\nx = 1\n[b]\nx = 9\n[a]\nx = 3\n'


def test_setdefault_keeps_an_existing_value():
    doc = IniDocument('[a]\nx = mine\n')
    assert not doc.setdefault('a', 'x', 'default')
    assert doc.setdefault('a', 'y', 'default')
    assert doc.get('a', 'x') == 'mine' and doc.get('a', 'y') == 'default'


def test_commented_option_is_not_read():
    doc = IniDocument('[a]\n#x = 1\n; y = 2\n')
    assert doc.get('a', 'x') is None and doc.get('a', 'y') is None


def test_text_without_final_newline_stays_so():
    doc = IniDocument('[a]\nx = 1')
    doc.set('a', 'x', '2')
    assert doc.text() == '[a]\nx = 2'
