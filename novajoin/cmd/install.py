"""novajoin-install: configure novajoin, nova and neutron on a controller.

Writes join.conf (creating it if needed) and adds what novajoin needs to
nova.conf and neutron.conf, keeping their comments and other options.
``--dry-run`` prints the diff instead (secrets masked). Idempotent.

nova's vendordata target follows join.conf: ``https://FQDN:PORT/v1/`` when
[api] cert_file and key_file are set (``--cert-file``/``--key-file``), with
``--ca-file`` as nova's [api] vendordata_dynamic_ssl_certfile; plain
``http://`` otherwise. A configuration novajoin-server would refuse (only
one of cert/key, or a CA file for an http target) is refused here, before
any file is written.
"""
import argparse
import os
import socket
import sys

from novajoin import validation
from novajoin.install import files
from novajoin.install import settings
from novajoin.install.ini import IniDocument

JOIN_CONF_HEADER = ('# novajoin configuration (written by novajoin-install).\n'
                    '# Every option: share/novajoin/join.conf.sample in the\n'
                    '# install prefix, or oslo-config-generator --namespace '
                    'novajoin.\n')


def parser():
    p = argparse.ArgumentParser(
        prog='novajoin-install',
        description='Write join.conf and configure nova and neutron for novajoin.')
    p.add_argument('--join-conf', default='/etc/novajoin/join.conf')
    p.add_argument('--nova-conf', default='/etc/nova/nova.conf')
    p.add_argument('--neutron-conf', default='/etc/neutron/neutron.conf')
    p.add_argument('--no-nova', action='store_true', help='leave nova.conf alone')
    p.add_argument('--no-neutron', action='store_true',
                   help='leave neutron.conf alone')
    p.add_argument('--dry-run', action='store_true',
                   help='print a unified diff of the changes; write nothing')
    g = p.add_argument_group('where nova reaches novajoin-server')
    g.add_argument('--hostname', default=socket.getfqdn(),
                   help='this controller\'s name (default: %(default)s)')
    g.add_argument('--port', type=int, help='[api] bind_port (default: %d)'
                   % settings.DEFAULT_PORT)
    g.add_argument('--cloud-config', help='vendordata_jsonfile_path (default: %s)'
                   % settings.CLOUD_CONFIG)
    g = p.add_argument_group(
        'TLS (nova\'s target is https:// when join.conf has [api] cert_file '
        'and key_file)')
    g.add_argument('--cert-file', help='[api] cert_file: PEM certificate '
                   'novajoin-server serves; it must name --hostname')
    g.add_argument('--key-file', help='[api] key_file: its unencrypted PEM key')
    g.add_argument('--ca-file', help='the CA bundle that signed the certificate: '
                   'nova.conf [api] vendordata_dynamic_ssl_certfile')
    g = p.add_argument_group('IPA (defaults: /etc/ipa/default.conf)')
    g.add_argument('--ipa-server', dest='ipa_servers',
                   help='IPA servers, comma-separated')
    g.add_argument('--realm')
    g.add_argument('--ipa-domain')
    g.add_argument('--domain', help='[join] domain for instance FQDNs')
    g.add_argument('--principal', help='default: nova/<hostname>')
    g.add_argument('--keytab', help='default: %s' % settings.KEYTAB)
    g.add_argument('--ipa-ca-file')
    g.add_argument('--krb5-config')
    g = p.add_argument_group('keystone identity (default: nova.conf '
                             '[keystone_authtoken])')
    g.add_argument('--auth-url')
    g.add_argument('--username')
    g.add_argument('--password-file',
                   help='file whose first line is the password')
    g.add_argument('--project-name')
    g.add_argument('--user-domain-name')
    g.add_argument('--project-domain-name')
    g = p.add_argument_group('notifications')
    g.add_argument('--notification-format', default='unversioned',
                   choices=['unversioned', 'versioned'],
                   help='what novajoin-notify reads (default: %(default)s)')
    g.add_argument('--notification-topic',
                   help='default: notifications (versioned_notifications)')
    return p


def _load(path):
    text = files.read(path)
    return text, IniDocument(text or '')


def _cloud_config(target, dry_run, out):
    """Put the guest's cloud-config where nova's StaticJSON provider reads it.

    Returns (notes, files changed). An existing file is left alone.
    """
    if os.path.exists(target):
        return [], 0
    source = files.shipped(os.path.basename(target)) or files.shipped(
        os.path.basename(settings.CLOUD_CONFIG))
    if source is None:
        return ['%s is missing: copy files/cloud-config-novajoin.json there'
                % target], 0
    if dry_run:
        print('would install %s as %s' % (source, target), file=out)
    else:
        files.install_copy(source, target)
        print('installed: %s' % target, file=out)
    return [], 1


def run(args, out=sys.stdout):
    """Configure the files; returns the number of files changed (or to change)."""
    args.password = None
    if args.password_file:
        with open(args.password_file) as f:
            args.password = f.readline().rstrip('\n')
    fqdn = validation.check_fqdn(args.hostname, '--hostname')
    notes, plans, copied = [], [], 0

    nova = None
    if not args.no_nova:
        text, nova = _load(args.nova_conf)
        if text is None:
            notes.append('%s does not exist: nova not configured' % args.nova_conf)
            nova = None

    join_text, join = _load(args.join_conf)
    # Read nova's settings before nova.conf is changed below.
    notes += settings.configure_join(join, args, nova, fqdn)
    new_join = join.text()
    if join_text is None:
        new_join = JOIN_CONF_HEADER + '\n' + new_join
    plans.append((args.join_conf, join_text, new_join, 'novajoin'))

    port = args.port or int(join.get('api', 'bind_port') or settings.DEFAULT_PORT)
    # Checked even without nova: a half-set TLS pair is refused before
    # anything is written.
    url = settings.vendordata_url(join, fqdn, port)
    if nova is not None:
        nova_text = nova.text()
        notes += settings.configure_nova(nova, args, url)
        plans.append((args.nova_conf, nova_text, nova.text(), None))
        more, copied = _cloud_config(nova.get('api', 'vendordata_jsonfile_path'),
                                     args.dry_run, out)
        notes += more
    if not args.no_neutron:
        text, neutron = _load(args.neutron_conf)
        if text is None:
            notes.append('%s does not exist: neutron not configured'
                         % args.neutron_conf)
        else:
            notes += settings.configure_neutron(neutron, args)
            plans.append((args.neutron_conf, text, neutron.text(), None))

    changed = copied
    for path, old, new, group in plans:
        if old == new:
            print('unchanged: %s' % path, file=out)
            continue
        changed += 1
        if args.dry_run:
            out.write(files.masked_diff(path, old or '', new))
        else:
            files.write_atomic(path, new, new_group=group)
            print('%s: %s' % ('created' if old is None else 'updated', path),
                  file=out)
    for note in notes:
        print('note: %s' % note, file=out)
    if changed and not args.dry_run:
        print('restart nova-api (metadata), nova-compute, neutron-server and '
              'novajoin for the changes to apply', file=out)
    return changed


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError) as exc:
        print('novajoin-install: error: %s' % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
