"""Every IPA call novajoin-server and novajoin-notify make, in one scenario.

Run with the client under test (e.g. nothing but novajoin's keytab); raises
``StepFailed`` naming the first call IPA refused. Used by test_ipa_setup.py.
"""
import subprocess

from novajoin.hosts import records
from novajoin.ipa import errors
from novajoin.ipa.results import failed_members

FORWARD_ZONE = 'example.test.'
REVERSE_ZONE = '2.0.192.in-addr.arpa.'


class StepFailed(AssertionError):
    pass


class Scenario:

    def __init__(self, ipa, unique, ipa_env, admin=None):
        self.ipa = ipa
        self.admin = admin  # plays the guest's own DNS updates, if given
        self.env = ipa_env
        self.short = 'njvm-%s' % unique
        self.host = '%s.example.test' % self.short
        self.subhost = 'njsub-%s.example.test' % unique
        self.fip = 'njfip-%s' % unique
        # Last octets from the unique token, so parallel runs rarely collide.
        base = int(unique[:4], 16)
        self.octets = [str(2 + (base + i) % 250) for i in range(3)]
        self.done = []

    def step(self, name, method, *args, **options):
        try:
            result = self.ipa.call(method, *args, **options)
        except errors.IPAError as exc:
            raise StepFailed('%s: %s %s refused: %s'
                             % (name, method, args, exc)) from exc
        refused = [r for r in failed_members(result)
                   if 'already a member' not in r[1]]
        if refused:
            raise StepFailed('%s: %s %s refused inside the result: %s'
                             % (name, method, args, refused))
        self.done.append(name)
        return result

    def expect_not_found(self, name, method, *args, **options):
        try:
            self.ipa.call(method, *args, **options)
        except errors.NotFound:
            self.done.append(name)
            return
        except errors.IPAError as exc:
            raise StepFailed('%s: %s %s: %s' % (name, method, args, exc)) from exc
        raise StepFailed('%s: %s %s found something' % (name, method, args))

    def run(self, enroll=True):
        """The server's calls, then notify's; ends with nothing left behind."""
        ip, ip2, fip_ip = ('192.0.2.' + o for o in self.octets)
        http, sub_http = 'HTTP/' + self.host, 'HTTP/' + self.subhost
        # -- novajoin-server --
        self.step('env', 'env', 'realm', 'domain')
        self.expect_not_found('host_show (new)', 'host_show', self.host, all=True)
        self.step('host_add', 'host_add', self.host, force=True,
                  userpassword='Otp-%s' % self.short,
                  userclass=['njclass'] + records.owner_values(
                      'ipa-calls', 'ipa-calls-project', 'default'),
                  description=records.owner_record('ipa-calls', 'ipa-calls-project',
                                                   'default'),
                  nsosversion='debian 12', nshostlocation='rack 1')
        self.step('host_show', 'host_show', self.host, all=True)
        self.step('host_mod userpassword', 'host_mod', self.host,
                  userpassword='Otp2-%s' % self.short)
        subhost_values = records.subhost_values('ipa-calls-project', 'default')
        calls = [('host_add', [self.subhost], {'force': True,
                                               'description': subhost_values[0],
                                               'userclass': subhost_values}),
                 ('service_add', [http], {'force': True}),
                 ('service_add', [sub_http], {'force': True}),
                 ('service_add_host', [sub_http], {'host': [self.host]}),
                 ('host_add_managedby', [self.subhost], {'host': [self.host]})]
        for (method, args, _), result in zip(calls, self.ipa.batch(calls)):
            if isinstance(result, Exception):
                raise StepFailed('batch %s %s refused: %s' % (method, args, result))
            refused = failed_members(result)
            if refused:
                raise StepFailed('batch %s %s refused inside the result: %s'
                                 % (method, args, refused))
            self.done.append('batch ' + method)
        # -- novajoin-notify / reconcile --
        self.step('host_find', 'host_find', self.host)
        self.step('host_find userclass', 'host_find', all=True, sizelimit=0,
                  userclass=records.cloud_index('default'))
        self.step('service_find', 'service_find', self.subhost)
        self.step('dnszone_show', 'dnszone_show', FORWARD_ZONE)
        self.step('dnszone_find', 'dnszone_find')
        self.step('dnsrecord_add A', 'dnsrecord_add', FORWARD_ZONE, self.short,
                  arecord=[ip])
        self.step('dnsrecord_add PTR', 'dnsrecord_add', REVERSE_ZONE,
                  self.octets[0], ptrrecord=[self.host + '.'])
        self.step('dnsrecord_add A (existing name)', 'dnsrecord_add', FORWARD_ZONE,
                  self.short, arecord=[ip2])
        self.step('dnsrecord_show', 'dnsrecord_show', FORWARD_ZONE, self.short)
        self.step('dnsrecord_find', 'dnsrecord_find', REVERSE_ZONE,
                  self.octets[0])
        self.step('dnsrecord_del A (one value)', 'dnsrecord_del', FORWARD_ZONE,
                  self.short, arecord=[ip2])
        self.step('dnsrecord_add A (floating IP)', 'dnsrecord_add', FORWARD_ZONE,
                  self.fip, arecord=[fip_ip])
        self.step('dnsrecord_add PTR (floating IP)', 'dnsrecord_add', REVERSE_ZONE,
                  self.octets[2], ptrrecord=[self.fip + '.example.test.'])
        self.step('dnsrecord_del A (last value)', 'dnsrecord_del', FORWARD_ZONE,
                  self.fip, arecord=[fip_ip])
        self.step('dnsrecord_add A (again)', 'dnsrecord_add', FORWARD_ZONE,
                  self.fip, arecord=[fip_ip])
        self.step('dnsrecord_del del_all', 'dnsrecord_del', FORWARD_ZONE,
                  self.fip, del_all=True)
        self.step('dnsrecord_del PTR (last value)', 'dnsrecord_del', REVERSE_ZONE,
                  self.octets[2], ptrrecord=[self.fip + '.example.test.'])
        self.step('service_remove_host', 'service_remove_host', sub_http,
                  host=[self.host])
        self.step('host_remove_managedby', 'host_remove_managedby', self.subhost,
                  host=[self.host])
        self.step('service_del', 'service_del', sub_http)
        if enroll:
            self._enroll('Otp2-%s' % self.short)
            # -- novajoin-notify: a rebuild (novajoin.hosts.rearm) --
            rebuild = 'req-00000000-0000-4000-8000-000000000001'
            pending = records.rebuild_record(rebuild, 'abcd0123')
            self.step('host_mod userclass (rebuild record)', 'host_mod',
                      self.host, addattr=['userclass=' + pending])
            if self.admin is not None:
                # a service of the old guest with keys: host_disable
                # disables it too (service keys)
                self._service_keys(http)
            self.step('host_disable', 'host_disable', self.host)
            self.step('host_mod userpassword (re-armed)', 'host_mod', self.host,
                      userpassword='Otp3-%s' % self.short,
                      addattr=['userclass=' + records.rebuild_record(
                          rebuild, 'abcd0123', armed=True)],
                      delattr=['userclass=' + pending])
            self._enroll('Otp3-%s' % self.short)
        if self.admin is not None:
            # The guest's ipa-client-install publishes SSHFP (and AAAA)
            # records itself; host_del updatedns must clear them too.
            self.admin.call('dnsrecord_add', FORWARD_ZONE, self.short,
                            sshfprecord=['1 1 ' + 'ab' * 20],
                            aaaarecord=['2001:db8::%s' % self.octets[0]])
        self.step('host_del (subhost)', 'host_del', self.subhost)
        self.step('host_del updatedns', 'host_del', self.host, updatedns=True)
        self.expect_not_found('A gone', 'dnsrecord_show', FORWARD_ZONE, self.short)
        self.expect_not_found('PTR gone', 'dnsrecord_show', REVERSE_ZONE,
                              self.octets[0])
        self.expect_not_found('service gone', 'service_show', http)
        return self.done

    def _enroll(self, otp):
        """The guest's ipa-join with the OTP: deletes must work on enrolled hosts."""
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [self.env['IPA_JOIN'], '-s', self.env['IPA_SERVER'], '-h', self.host,
                 '-w', otp, '-k', tmp + '/host.keytab'],
                capture_output=True, text=True, timeout=60,
                env={'PATH': '/usr/bin:/bin',
                     'KRB5_CONFIG': self.env['IPA_KRB5_CONFIG']})
        if proc.returncode != 0:
            raise StepFailed('ipa-join %s failed: %s' % (self.host, proc.stderr))
        self.done.append('enrolled')

    def _service_keys(self, principal):
        """Keys for ``principal``, as a guest's ipa-getkeytab makes them
        (here as the peer's root, over ldapi)."""
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [self.env['IPA_GETKEYTAB'], '-H', self.env['IPA_LDAPI_URI'],
                 '-Y', 'EXTERNAL', '-p', principal, '-k', tmp + '/svc.keytab'],
                capture_output=True, text=True, timeout=60,
                env={'PATH': '/usr/bin:/bin',
                     'KRB5_CONFIG': self.env['IPA_KRB5_CONFIG']})
        if proc.returncode != 0:
            raise StepFailed('ipa-getkeytab %s failed: %s' % (principal,
                                                              proc.stderr))

    def cleanup(self, admin):
        """Remove whatever a failed run left, as admin."""
        for method, args, options in [
                ('host_del', [self.subhost], {}),
                ('host_del', [self.host], {}),
                ('dnsrecord_del', [FORWARD_ZONE, self.short], {'del_all': True}),
                ('dnsrecord_del', [FORWARD_ZONE, self.fip], {'del_all': True}),
                ('dnsrecord_del', [REVERSE_ZONE, self.octets[0]], {'del_all': True}),
                ('dnsrecord_del', [REVERSE_ZONE, self.octets[2]], {'del_all': True})]:
            try:
                admin.call(method, *args, **options)
            except errors.NotFound:
                pass
