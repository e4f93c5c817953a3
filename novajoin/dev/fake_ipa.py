"""An in-memory stand-in for FreeIPA's JSON-RPC, for dev mode and unit tests.

It speaks the same wire protocol as FreeIPA 4.12 (login_password + session
cookie, the ``Referer`` check, ``{"result", "error"}`` answers, batch with
per-item errors, list-valued attributes) for the commands novajoin uses, and
keeps everything in a dict. It is NOT what proves the IPA client works: the
functional tests run against the real FreeIPA of ../shared/ipa.
"""
import copy
import datetime
import ipaddress
import json
import re
import secrets
import threading
import time

from werkzeug import serving
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

REALM = 'EXAMPLE.TEST'
DOMAIN = 'example.test'


class IPAFault(Exception):
    def __init__(self, code, name, message):
        super().__init__(message)
        self.code, self.name, self.message = code, name, message


def _not_found(kind, key):
    return IPAFault(4001, 'NotFound', '%s: %s not found' % (key, kind))


class FakeIPA:
    """The directory and the command implementations."""

    def __init__(self, realm=REALM, domain=DOMAIN, user='admin',
                 password='Secret123'):
        self.realm, self.domain = realm, domain
        self.user, self.password = user, password
        self.hosts = {}
        self.services = {}
        self.dns = {}          # (zone, name) -> {'arecord': [...], 'ptrrecord': [...]}
        self.zones = {domain + '.'}
        self.calls = []        # method names, in order (tests inspect them)
        self.lock = threading.Lock()
        self.fail_next = []    # IPAFaults to raise on the next calls (tests)
        # Zones whose SOA does not resolve: host_del updatedns answers 903.
        self.unresolvable_zones = set()

    # -- dispatch ---------------------------------------------------------

    def run(self, method, args, options):
        with self.lock:
            self.calls.append(method)
            if self.fail_next:
                raise self.fail_next.pop(0)
            func = getattr(self, 'cmd_' + method, None)
            if func is None:
                raise IPAFault(905, 'CommandError', 'unknown command %r' % method)
            options = {k: v for k, v in options.items() if k != 'version'}
            return func(*args, **options)

    # -- hosts ------------------------------------------------------------

    def _host(self, fqdn):
        host = self.hosts.get(fqdn.lower())
        if host is None:
            raise _not_found('host', fqdn)
        return host

    def _host_view(self, host, all=False):
        view = {k: v for k, v in host.items() if not k.startswith('_')}
        view['has_keytab'] = host['_keytab']
        view['has_password'] = host['_password'] is not None
        if all and host['_keytab']:
            # IPA sets krbLastPwdChange with the keys (all=True shows it);
            # keys given without a time (tests) date from the epoch
            stamp = datetime.datetime.fromtimestamp(
                host.get('_keys_at') or 0, datetime.timezone.utc)
            view['krblastpwdchange'] = [
                {'__datetime__': stamp.strftime('%Y%m%d%H%M%SZ')}]
        return copy.deepcopy(view)

    def cmd_env(self, *names, **_):
        env = {'realm': self.realm, 'domain': self.domain}
        return {'result': {n: env[n] for n in names if n in env} if names else env,
                'count': len(env), 'total': len(env)}

    def cmd_ping(self, **_):
        return {'summary': 'IPA server version 4.12.4-fake. API version 2.254'}

    def cmd_host_add(self, fqdn, force=False, random=False, userpassword=None,
                     **attrs):
        fqdn = fqdn.lower()
        attrs.pop('no_members', None)     # output shaping only
        if fqdn in self.hosts:
            raise IPAFault(4002, 'DuplicateEntry',
                           'host with name "%s" already exists' % fqdn)
        host = {'fqdn': [fqdn], 'dn': 'fqdn=%s,cn=computers' % fqdn,
                '_keytab': False, '_password': userpassword}
        for key, value in attrs.items():
            host[key] = value if isinstance(value, list) else [value]
        result = None
        if random:
            host['_password'] = secrets.token_hex(12)
        self.hosts[fqdn] = host
        result = self._host_view(host)
        if random:
            result['randompassword'] = host['_password']
        return {'result': result, 'value': fqdn,
                'summary': 'Added host "%s"' % fqdn}

    def cmd_host_show(self, fqdn, all=False, **_):
        return {'result': self._host_view(self._host(fqdn), all),
                'value': fqdn.lower(), 'summary': None}

    def cmd_host_find(self, criteria=None, description=None, sizelimit=0,
                      man_by_host=None, userclass=None, all=False, **_):
        found = []
        for host in self.hosts.values():
            desc = (host.get('description') or [''])[0]
            if description is not None and description not in desc:
                continue
            # an option matches a value exactly (IPA ignores case)
            if userclass is not None and userclass.lower() not in {
                    v.lower() for v in host.get('userclass', [])}:
                continue
            if criteria and criteria not in host['fqdn'][0] and criteria not in desc:
                continue
            if man_by_host is not None and man_by_host.lower() not in \
                    host.get('managedby_host', host['fqdn']):
                continue
            view = self._host_view(host, all)
            # as IPA 4.12: host_find tells nothing of keys or password
            # (krblastpwdchange, with all, says whether there are keys)
            del view['has_keytab'], view['has_password']
            found.append(view)
        return {'result': found, 'count': len(found), 'truncated': False,
                'summary': '%d hosts matched' % len(found)}

    @staticmethod
    def _attr_options(values):
        """``['attr=value', ...]`` (addattr/delattr) as {attr: [values]},
        split as IPA's _convert_2_dict does."""
        out = {}
        if isinstance(values, str):
            values = [values]
        for item in values or ():
            match = re.match(r'\s*(.*?)\s*=\s*(.*?)\s*$', item)
            if match is None:
                raise IPAFault(3009, 'ValidationError',
                               'invalid \'%s\': Invalid format. Should be '
                               'name=value' % item)
            out.setdefault(match.group(1).lower(), []).append(match.group(2))
        return out

    def _apply_attr_options(self, host, addattr, delattr):
        """The entry's values after --addattr, then --delattr (as IPA's
        process_attr_options): {attr: [values]}, nothing written yet."""
        adds = self._attr_options(addattr)
        dels = self._attr_options(delattr)
        for attr in dels:
            if attr not in host and attr not in adds:
                raise IPAFault(3009, 'ValidationError',
                               'invalid \'%s\': No such attribute on this '
                               'entry' % attr)
        new = {}
        for attr in set(adds) | set(dels):
            values = list(host.get(attr, [])) + adds.get(attr, [])
            for value in dels.get(attr, []):
                if value not in values:
                    raise IPAFault(4026, 'AttrValueNotFound',
                                   '%s does not contain \'%s\'' % (attr, value))
                values.remove(value)
            unique = []        # LDAP keeps a value once (compared caselessly)
            for value in values:
                if value.lower() not in {v.lower() for v in unique}:
                    unique.append(value)
            new[attr] = unique
        return new

    def cmd_host_mod(self, fqdn, userpassword=None, random=False, addattr=(),
                     delattr=(), **attrs):
        host = self._host(fqdn)
        if (userpassword is not None or random) and host['_keytab']:
            raise IPAFault(3009, 'ValidationError',
                           'invalid \'userpassword\': Password cannot be set on '
                           'enrolled host.')
        changed = False
        for key, value in self._apply_attr_options(host, addattr,
                                                   delattr).items():
            before = {v.lower() for v in host.get(key, [])}
            if before != {v.lower() for v in value}:
                if value:
                    host[key] = value
                else:
                    host.pop(key, None)
                changed = True
        if userpassword is not None:
            host['_password'] = userpassword
            changed = True
        for key, value in attrs.items():
            value = value if isinstance(value, list) else [value]
            if host.get(key) != value:
                host[key] = value
                changed = True
        if not changed:
            raise IPAFault(4202, 'EmptyModlist', 'no modifications to be performed')
        return {'result': self._host_view(host), 'value': fqdn.lower()}

    def cmd_host_disable(self, fqdn, **_):
        """As IPA 4.12: the keys of the host's services and the host's own
        certificates and keys (and krbLastPwdChange) removed; a password set
        for enrollment stays. AlreadyInactive when there was nothing to do."""
        host = self._host(fqdn)
        done = False
        for name, service in self.services.items():
            if (name.split('/')[1].split('@')[0] == fqdn.lower()
                    and service.get('has_keytab')):
                service['has_keytab'] = False
                done = True
        if host.pop('usercertificate', None):
            done = True
        if host['_keytab']:
            host['_keytab'] = False
            host.pop('_keys_at', None)
            done = True
        if not done:
            raise IPAFault(4010, 'AlreadyInactive', 'This entry is already disabled')
        return {'result': True, 'value': fqdn.lower(),
                'summary': 'Disabled host "%s"' % fqdn.lower()}

    def cmd_host_del(self, *fqdns, updatedns=False, **_):
        keys = fqdns[0] if fqdns and isinstance(fqdns[0], list) else list(fqdns)
        for fqdn in keys:
            self._host(fqdn)
            if updatedns and fqdn.lower().partition('.')[2] + '.' in \
                    self.unresolvable_zones:
                # ipaserver resolves the zone's SOA before it deletes anything
                raise IPAFault(903, 'InternalError',
                               'an internal error has occurred')
        for fqdn in keys:
            del self.hosts[fqdn.lower()]
            for service in list(self.services):
                if service.split('/')[1].split('@')[0] == fqdn.lower():
                    del self.services[service]
            for host in self.hosts.values():
                if fqdn.lower() in host.get('managedby_host', []):
                    host['managedby_host'].remove(fqdn.lower())
            if updatedns:
                short, _, zone = fqdn.lower().partition('.')
                record = self.dns.pop((zone + '.', short), None) or {}
                self._drop_ptrs(fqdn.lower(), record.get('arecord', []))
        return {'result': {'failed': []}, 'value': keys,
                'summary': 'Deleted host "%s"' % ','.join(keys)}

    def cmd_host_add_managedby(self, fqdn, host=(), **_):
        entry = self._host(fqdn)
        managers = entry.setdefault('managedby_host', [fqdn.lower()])
        failed = []
        for name in host:
            if name.lower() not in self.hosts:
                failed.append([name, 'no such entry'])
            elif name.lower() in managers:
                failed.append([name, 'This entry is already a member'])
            else:
                managers.append(name.lower())
        return {'result': self._host_view(entry),
                'failed': {'managedby': {'host': failed}},
                'completed': len(host) - len(failed)}

    def cmd_host_remove_managedby(self, fqdn, host=(), **_):
        entry = self._host(fqdn)
        managers = entry.setdefault('managedby_host', [fqdn.lower()])
        failed = []
        for name in host:
            if name.lower() in managers:
                managers.remove(name.lower())
            else:
                failed.append([name, 'This entry is not a member'])
        return {'result': self._host_view(entry),
                'failed': {'managedby': {'host': failed}},
                'completed': len(host) - len(failed)}

    # -- services ---------------------------------------------------------

    def _principal(self, name):
        return name if '@' in name else '%s@%s' % (name, self.realm)

    def _service(self, name):
        service = self.services.get(self._principal(name))
        if service is None:
            raise _not_found('service', name)
        return service

    def cmd_service_add(self, principal, force=False, **_):
        key = self._principal(principal)
        host = key.split('/')[1].split('@')[0]
        if host not in self.hosts:
            raise _not_found('host', host)
        if key in self.services:
            raise IPAFault(4002, 'DuplicateEntry',
                           'service with name "%s" already exists' % key)
        self.services[key] = {'krbprincipalname': [key], 'managedby_host': [host],
                              'has_keytab': False}
        return {'result': copy.deepcopy(self.services[key]), 'value': key}

    def cmd_service_show(self, principal, **_):
        return {'result': copy.deepcopy(self._service(principal)),
                'value': self._principal(principal)}

    def cmd_service_find(self, criteria=None, man_by_host=None, **_):
        found = [copy.deepcopy(s) for k, s in self.services.items()
                 if (not criteria or criteria in k)
                 and (man_by_host is None or man_by_host in s['managedby_host'])]
        return {'result': found, 'count': len(found), 'truncated': False}

    def cmd_service_del(self, *principals, **_):
        keys = principals[0] if principals and isinstance(principals[0], list) \
            else list(principals)
        for name in keys:
            self._service(name)
        for name in keys:
            del self.services[self._principal(name)]
        return {'result': {'failed': []}, 'value': keys}

    def cmd_service_add_host(self, principal, host=(), **_):
        service = self._service(principal)
        failed = []
        for name in host:
            if name.lower() not in self.hosts:
                failed.append([name, 'no such entry'])
            elif name.lower() in service['managedby_host']:
                failed.append([name, 'This entry is already a member'])
            else:
                service['managedby_host'].append(name.lower())
        return {'result': copy.deepcopy(service),
                'failed': {'managedby': {'host': failed}},
                'completed': len(host) - len(failed)}

    def cmd_service_remove_host(self, principal, host=(), **_):
        service = self._service(principal)
        failed = []
        for name in host:
            if name.lower() in service['managedby_host']:
                service['managedby_host'].remove(name.lower())
            else:
                failed.append([name, 'This entry is not a member'])
        return {'result': copy.deepcopy(service),
                'failed': {'managedby': {'host': failed}},
                'completed': len(host) - len(failed)}

    # -- DNS --------------------------------------------------------------

    def _drop_ptrs(self, fqdn, addresses):
        # host_del updatedns also removes the PTRs that point back at the host
        for address in addresses:
            pointer = ipaddress.ip_address(address).reverse_pointer + '.'
            for zone in self.zones:
                if pointer.endswith('.' + zone):
                    key = (zone, pointer[:-len(zone) - 1])
                    entry = self.dns.get(key, {})
                    if fqdn + '.' in entry.get('ptrrecord', []):
                        entry['ptrrecord'].remove(fqdn + '.')
                        if not any(entry.values()):
                            del self.dns[key]

    def _zone(self, zone):
        zone = zone if zone.endswith('.') else zone + '.'
        if zone not in self.zones:
            raise _not_found('DNS zone', zone)
        return zone

    def cmd_dnszone_show(self, zone, **_):
        zone = self._zone(zone)
        return {'result': {'idnsname': [{'__dns_name__': zone}]}, 'value': zone}

    def cmd_dnszone_find(self, **_):
        found = [{'idnsname': [{'__dns_name__': z}]} for z in sorted(self.zones)]
        return {'result': found, 'count': len(found), 'truncated': False}

    def cmd_dnsrecord_add(self, zone, name, **records):
        zone = self._zone(zone)
        entry = self.dns.setdefault((zone, name), {})
        added = False
        for rtype, values in records.items():
            values = values if isinstance(values, list) else [values]
            current = entry.setdefault(rtype, [])
            for value in values:
                if value not in current:
                    current.append(value)
                    added = True
        if not added:
            raise IPAFault(4202, 'EmptyModlist', 'no modifications to be performed')
        return {'result': dict(entry, idnsname=[{'__dns_name__': name}]),
                'value': {'__dns_name__': name}}

    def cmd_dnsrecord_show(self, zone, name, **_):
        entry = self.dns.get((self._zone(zone), name))
        if not entry:
            raise _not_found('DNS resource record', name)
        return {'result': dict(copy.deepcopy(entry),
                               idnsname=[{'__dns_name__': name}]),
                'value': {'__dns_name__': name}}

    def cmd_dnsrecord_find(self, zone, criteria=None, **options):
        zone = self._zone(zone)
        # Record-value filters, e.g. arecord='192.0.2.7', as in IPA.
        wanted = {k: v for k, v in options.items() if k.endswith('record')}
        found = [dict(copy.deepcopy(e), idnsname=[{'__dns_name__': n}])
                 for (z, n), e in self.dns.items()
                 if z == zone and (not criteria or criteria in n)
                 and all(v in e.get(k, []) for k, v in wanted.items())]
        return {'result': found, 'count': len(found), 'truncated': False}

    def cmd_dnsrecord_del(self, zone, name, del_all=False, **records):
        zone = self._zone(zone)
        entry = self.dns.get((zone, name))
        if entry is None:
            raise _not_found('DNS resource record', name)
        if del_all:
            del self.dns[(zone, name)]
            return {'result': {'failed': []}, 'value': [name]}
        for rtype, values in records.items():
            values = values if isinstance(values, list) else [values]
            for value in values:
                if value not in entry.get(rtype, []):
                    raise IPAFault(4026, 'AttrValueNotFound',
                                   '%s does not contain \'%s\'' % (rtype, value))
                entry[rtype].remove(value)
        if not any(entry.values()):
            del self.dns[(zone, name)]
        return {'result': {'failed': []}, 'value': [name]}

    # -- batch ------------------------------------------------------------

    def cmd_batch(self, methods=(), **_):
        results = []
        for item in methods:
            args, options = item['params']
            options = {k: v for k, v in options.items() if k != 'version'}
            self.calls.append(item['method'])
            func = getattr(self, 'cmd_' + item['method'], None)
            try:
                if func is None:
                    raise IPAFault(905, 'CommandError', 'unknown command')
                result = func(*args, **options)
                result['error'] = None
                results.append(result)
            except IPAFault as fault:
                results.append({'error': fault.message, 'error_code': fault.code,
                                'error_name': fault.name, 'error_kw': {}})
            except TypeError as exc:
                results.append({'error': str(exc), 'error_code': 3005,
                                'error_name': 'OptionError', 'error_kw': {}})
        return {'count': len(results), 'results': results}

    # -- what ipa-client-install would do ---------------------------------

    def enroll(self, fqdn, otp, at=None):
        """Use the OTP like ipa-join: keys for the host (set at Unix time
        ``at``, now by default), the OTP is spent."""
        with self.lock:
            host = self._host(fqdn)
            if host['_keytab'] or host['_password'] != otp:
                raise IPAFault(2100, 'ACIError', 'enrollment refused')
            host['_keytab'] = True
            host['_keys_at'] = time.time() if at is None else at
            host['_password'] = None


class FakeIPAServer:
    """FakeIPA behind HTTP on 127.0.0.1, in a background thread."""

    def __init__(self, ipa=None, host='127.0.0.1', port=0):
        self.ipa = ipa or FakeIPA()
        self._sessions = set()
        self._server = serving.make_server(host, port, self._wsgi, threaded=True)
        self.port = self._server.server_port
        self.address = '%s:%d' % (host, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name='fake-ipa', daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        return self._route(request)(environ, start_response)

    def _route(self, request):
        if request.method != 'POST':
            return Response('method not allowed', status=405)
        if not request.headers.get('Referer', '').endswith('/ipa'):
            if request.path.endswith('login_password'):
                return Response('denied', status=400)
            return self._json({'result': None, 'id': 0, 'error': {
                'code': 911, 'name': 'RefererError',
                'message': 'Missing or invalid HTTP Referer', 'data': {}}})
        if request.path == '/ipa/session/login_password':
            if (request.form.get('user') == self.ipa.user
                    and request.form.get('password') == self.ipa.password):
                token = secrets.token_hex(16)
                self._sessions.add(token)
                resp = Response('', status=200)
                resp.set_cookie('ipa_session', 'MagBearerToken=' + token,
                                path='/ipa', httponly=True)
                return resp
            resp = Response('Unauthorized', status=401)
            resp.headers['X-IPA-Rejection-Reason'] = 'invalid-password'
            return resp
        if request.path not in ('/ipa/session/json', '/ipa/json'):
            return Response('not found', status=404)
        cookie = request.cookies.get('ipa_session', '')
        if cookie.replace('MagBearerToken=', '') not in self._sessions:
            return Response('<html>Unauthorized</html>', status=401,
                            content_type='text/html')
        try:
            body = json.loads(request.get_data())
            method = body['method']
            args, options = body['params']
        except (ValueError, KeyError, TypeError):
            return self._json({'result': None, 'id': None, 'error': {
                'code': 909, 'name': 'JSONError', 'message': 'bad request',
                'data': {}}})
        try:
            result = self.ipa.run(method, args, options)
            return self._json({'result': result, 'error': None, 'id': body.get('id'),
                               'principal': 'admin@' + self.ipa.realm,
                               'version': '4.12.4'})
        except IPAFault as fault:
            return self._json({'result': None, 'id': body.get('id'), 'error': {
                'code': fault.code, 'name': fault.name, 'message': fault.message,
                'data': {}}})
        except TypeError as exc:
            return self._json({'result': None, 'id': body.get('id'), 'error': {
                'code': 3005, 'name': 'OptionError', 'message': str(exc),
                'data': {}}})

    @staticmethod
    def _json(body):
        return Response(json.dumps(body), content_type='application/json')
