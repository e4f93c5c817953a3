"""What novajoin needs in join.conf, nova.conf and neutron.conf.

Each function edits an ``IniDocument`` and returns notes for the operator.
Options the operator passed are set; anything else only fills a gap, so a
second run, or a run after hand edits, changes nothing.
"""
import configparser
import os
import secrets

from novajoin.conf import clients
from novajoin.install.ini import split_list

DEFAULT_PORT = 9090
CLOUD_CONFIG = '/etc/novajoin/cloud-config-novajoin.json'
KEYTAB = '/etc/novajoin/krb5.keytab'
TARGET_NAME = 'join'
UNVERSIONED_TOPIC = 'notifications'
VERSIONED_TOPIC = 'versioned_notifications'
IPA_DEFAULT_CONF = '/etc/ipa/default.conf'

# Keystone options copied from nova.conf [keystone_authtoken] (nova's own
# service user) unless given on the command line.
IDENTITY_KEYS = ('auth_url', 'username', 'password', 'project_name',
                 'user_domain_name', 'project_domain_name')
# keystonemiddleware in novajoin-server also needs these two.
AUTHTOKEN_EXTRA = ('www_authenticate_uri', 'memcached_servers', 'region_name',
                   'cafile')


def ipa_client_setting(key, path=IPA_DEFAULT_CONF):
    """A value from this machine's IPA client config, if it is enrolled."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
        return parser.get('global', key, fallback=None)
    except configparser.Error:
        return None


def want(doc, section, key, explicit, default=None):
    """Set ``explicit`` if given, else fill in ``default`` if missing."""
    if explicit is not None:
        return doc.set(section, key, explicit)
    if default is not None:
        return doc.setdefault(section, key, default)
    return False


def merge_list(doc, section, key, items, drop=lambda item: False):
    """Make the ListOpt ``key`` contain ``items``; keep what else it has."""
    current = split_list(doc.get(section, key))
    merged = [item for item in current if not drop(item)]
    merged += [item for item in items if item not in merged]
    if merged != current or doc.get(section, key) is None:
        return doc.set(section, key, ','.join(merged))
    return False


def identity(args, nova):
    """The keystone identity to configure: options, else nova's own."""
    out = {}
    if nova is not None:
        for key in IDENTITY_KEYS + AUTHTOKEN_EXTRA + ('auth_type',):
            value = nova.get('keystone_authtoken', key)
            if value:
                out[key] = value
    for key in IDENTITY_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            out[key] = value
    if out.get('auth_url') or out.get('username'):
        out.setdefault('auth_type', 'password')
    return out


def configure_join(doc, args, nova, fqdn):
    notes = []
    # [DEFAULT] transport_url: novajoin-notify listens where nova notifies.
    if nova is not None:
        url = (nova.get('oslo_messaging_notifications', 'transport_url')
               or nova.get('DEFAULT', 'transport_url'))
        if url:
            doc.setdefault('DEFAULT', 'transport_url', url)
    if not doc.get('DEFAULT', 'transport_url'):
        notes.append('set [DEFAULT] transport_url in %s (nova\'s message bus) '
                     'for novajoin-notify' % args.join_conf)

    if not (doc.get('join', 'otp_secret') or doc.get('join', 'otp_secret_file')):
        # Shared by every worker and replica: copy this file to the others.
        doc.set('join', 'otp_secret', secrets.token_urlsafe(48))
        notes.append('generated [join] otp_secret: every novajoin-server '
                     'replica needs the same one')
    want(doc, 'join', 'domain', args.domain)

    want(doc, 'api', 'bind_port', _str(args.port), str(DEFAULT_PORT))
    # TLS: absolute paths, since novajoin-server does not run from here.
    for key in ('cert_file', 'key_file'):
        path = getattr(args, key, None)
        want(doc, 'api', key, os.path.abspath(path) if path else None)
        if path and not os.path.exists(path):
            notes.append('%s does not exist (yet): novajoin-server refuses to '
                         'start without its [api] %s' % (path, key))

    # Defaults from /etc/ipa/default.conf when this machine is an IPA client.
    want(doc, 'ipa', 'servers', args.ipa_servers, ipa_client_setting('server'))
    want(doc, 'ipa', 'realm', args.realm, ipa_client_setting('realm'))
    want(doc, 'ipa', 'domain', args.ipa_domain, ipa_client_setting('domain'))
    want(doc, 'ipa', 'auth_method', None, 'kerberos')
    want(doc, 'ipa', 'keytab', args.keytab, KEYTAB)
    want(doc, 'ipa', 'principal', args.principal, 'nova/%s' % fqdn)
    want(doc, 'ipa', 'ca_file', args.ipa_ca_file)
    want(doc, 'ipa', 'krb5_config', args.krb5_config)
    if not doc.get('ipa', 'servers'):
        notes.append('set [ipa] servers in %s (this machine is not an IPA '
                     'client, or pass --ipa-server)' % args.join_conf)

    ident = identity(args, nova)
    if ident:
        for key in ('auth_type',) + IDENTITY_KEYS + AUTHTOKEN_EXTRA:
            if key in ident:
                doc.setdefault('keystone_authtoken', key, ident[key])
        for key in ('auth_type',) + IDENTITY_KEYS + ('cafile',):
            if key in ident:
                doc.setdefault('service_credentials', key, ident[key])
        if 'region_name' in ident:
            # each service's endpoint: keystoneauth adapter options
            for group in clients.SERVICES:
                doc.setdefault(group, 'region_name', ident['region_name'])
    if not doc.get('keystone_authtoken', 'auth_url'):
        notes.append('set [keystone_authtoken] and [service_credentials] in %s '
                     '(no nova.conf to copy them from)' % args.join_conf)
    return notes


def vendordata_url(join, fqdn, port):
    """nova's target for novajoin-server as join.conf [api] has it served.

    https exactly when join.conf has both cert_file and key_file: the
    scheme nova uses must be the one the server speaks. Only one of them is
    a ValueError, as novajoin-server would refuse it at start.
    """
    cert, key = join.get('api', 'cert_file'), join.get('api', 'key_file')
    if bool(cert) != bool(key):
        raise ValueError('[api] cert_file and key_file must be set together '
                         '(only %s is): pass --cert-file and --key-file'
                         % ('cert_file' if cert else 'key_file'))
    return '%s://%s:%d/v1/' % ('https' if cert else 'http', fqdn, port)


def configure_nova(doc, args, url):
    notes = []
    ca_file = getattr(args, 'ca_file', None)
    if ca_file and not url.startswith('https://'):
        # nova verifies nothing on http: the option would look like TLS
        # and be none.
        raise ValueError('--ca-file is for an https target: novajoin-server '
                         'has no [api] cert_file/key_file (pass --cert-file '
                         'and --key-file)')
    merge_list(doc, 'api', 'vendordata_providers', ['StaticJSON', 'DynamicJSON'])
    merge_list(doc, 'api', 'vendordata_dynamic_targets',
               ['%s@%s' % (TARGET_NAME, url)],
               drop=lambda item: item.startswith(TARGET_NAME + '@'))
    cloud_config = args.cloud_config or CLOUD_CONFIG
    old = doc.get('api', 'vendordata_jsonfile_path')
    if doc.set('api', 'vendordata_jsonfile_path', cloud_config) and old:
        notes.append('nova.conf [api] vendordata_jsonfile_path was %s; now %s'
                     % (old, cloud_config))
    if url.startswith('https://'):
        # nova verifies an https target against this CA bundle, else against
        # the system CAs (nova.api.metadata.vendordata_dynamic).
        want(doc, 'api', 'vendordata_dynamic_ssl_certfile',
             os.path.abspath(ca_file) if ca_file else None)
        if not doc.get('api', 'vendordata_dynamic_ssl_certfile'):
            notes.append('nova verifies novajoin\'s certificate against the '
                         'system CAs: pass --ca-file (nova.conf [api] '
                         'vendordata_dynamic_ssl_certfile) if a private CA '
                         'signed it')
        notes.append('novajoin\'s certificate must name %s (nova checks the '
                     'name in %s)' % (url.split('/')[2].rsplit(':', 1)[0], url))

    # nova's own token for the vendordata call (novajoin's policy expects it).
    ident = identity(args, doc)
    for key in ('auth_type',) + IDENTITY_KEYS:
        if key in ident:
            doc.setdefault('vendordata_dynamic_auth', key, ident[key])
    if not doc.get('vendordata_dynamic_auth', 'auth_url'):
        notes.append('nova.conf has no [keystone_authtoken] to copy: set '
                     '[vendordata_dynamic_auth], or nova calls novajoin '
                     'without a token and gets 401')

    doc.set('notifications', 'notify_on_state_change', 'vm_and_task_state')
    wanted = args.notification_format
    doc.set('notifications', 'notification_format', merged_format(
        doc.get('notifications', 'notification_format'), wanted))
    ensure_driver(doc)
    if wanted == 'versioned':
        merge_list(doc, 'notifications', 'versioned_notifications_topics',
                   [args.notification_topic or VERSIONED_TOPIC])
    else:
        merge_list(doc, 'oslo_messaging_notifications', 'topics',
                   [args.notification_topic or UNVERSIONED_TOPIC])
    return notes


def configure_neutron(doc, args):
    # Neutron's notifications (floating IPs, ports) are unversioned only.
    topic = UNVERSIONED_TOPIC
    if args.notification_format == 'unversioned' and args.notification_topic:
        topic = args.notification_topic
    ensure_driver(doc)
    merge_list(doc, 'oslo_messaging_notifications', 'topics', [topic])
    return []


def merged_format(current, wanted):
    """nova's notification_format that emits both what it emitted before and
    what novajoin-notify reads."""
    if current is None or current == wanted:
        return wanted
    return current if current == 'both' else 'both'


def ensure_driver(doc, driver='messagingv2'):
    """A notification driver that sends to the bus; noop ones are dropped."""
    section = 'oslo_messaging_notifications'
    drivers = doc.get_all(section, 'driver')
    if driver in drivers or 'messaging' in drivers:
        return False
    if any(d not in ('noop', '') for d in drivers):
        return doc.add(section, 'driver', driver)  # a MultiStrOpt: keep the others
    doc.set(section, 'driver', driver)  # in place of the last noop line
    for noop in ('noop', ''):
        doc.remove(section, 'driver', noop)
    return True


def _str(value):
    return None if value is None else str(value)
