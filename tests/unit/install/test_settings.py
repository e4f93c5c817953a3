"""novajoin.install.settings: what novajoin needs in nova.conf and neutron.conf."""
import pytest

from novajoin.cmd import install
from novajoin.install import settings
from novajoin.install.ini import IniDocument


def test_merge_list_keeps_other_entries_and_replaces_our_target():
    doc = IniDocument('[api]\nvendordata_dynamic_targets = other@http://x/, '
                      'join@http://old:9090/v1/\n')
    settings.merge_list(doc, 'api', 'vendordata_dynamic_targets',
                        ['join@http://new:9090/v1/'],
                        drop=lambda item: item.startswith('join@'))
    assert doc.get('api', 'vendordata_dynamic_targets') == \
        'other@http://x/,join@http://new:9090/v1/'


@pytest.mark.parametrize('before, after', [
    (['noop'], ['messagingv2']),
    ([], ['messagingv2']),
    (['log'], ['log', 'messagingv2']),
    (['messagingv2'], ['messagingv2']),
    (['noop', 'noop'], ['messagingv2']),
])
def test_notification_driver(before, after):
    text = '[oslo_messaging_notifications]\n' + ''.join(
        'driver = %s\n' % d for d in before)
    doc = IniDocument(text)
    settings.ensure_driver(doc)
    assert doc.get_all('oslo_messaging_notifications', 'driver') == after


@pytest.mark.parametrize('current, wanted, result', [
    (None, 'unversioned', 'unversioned'),
    ('unversioned', 'unversioned', 'unversioned'),
    ('versioned', 'unversioned', 'both'),
    ('both', 'versioned', 'both'),
    ('unversioned', 'versioned', 'both'),
])
def test_notification_format_keeps_what_nova_emitted(current, wanted, result):
    assert settings.merged_format(current, wanted) == result


def test_default_cloud_config_path():
    args = install.parser().parse_args([])
    doc = IniDocument('')
    settings.configure_nova(doc, args, 'http://ctl:9090/v1/')
    assert doc.get('api', 'vendordata_jsonfile_path') == \
        '/etc/novajoin/cloud-config-novajoin.json'
