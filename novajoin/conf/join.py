"""[join]: who enrolls, how the host is named, the OTP secret."""
from oslo_config import cfg

from novajoin.conf import base
from novajoin.hosts import services

GROUP = cfg.OptGroup('join', title='Enrollment policy',
                     help='Which instances enroll in IPA and how their hosts are named.')

OPTS = [
    cfg.StrOpt('domain', deprecated_group='DEFAULT',
               help='DNS domain appended to nova\'s hostname to make the FQDN. '
                    'Default: the IPA domain ([ipa] domain).'),
    cfg.BoolOpt('project_subdomain', default=False, deprecated_group='DEFAULT',
                help='Put each project\'s hosts in a subdomain named after the '
                     'project: <hostname>.<project name as a DNS label>.<domain>. '
                     'The project name is read from keystone with '
                     '[service_credentials].'),
    cfg.StrOpt('otp_secret', secret=True,
               help='Secret from which every one-time password is derived (an HMAC '
                    'of the host and the instance). Every worker and every replica '
                    'of novajoin-server must share it, so that all of them hand '
                    'out the same OTP for an instance. At least 32 characters. '
                    'novajoin-install generates one.'),
    cfg.StrOpt('otp_secret_file',
               help='File holding otp_secret (its first line), instead of putting '
                    'the secret in join.conf; further lines are previous secrets, '
                    'as previous_otp_secrets.'),
    cfg.ListOpt('previous_otp_secrets', default=[], secret=True,
                help='Secrets otp_secret replaced, newest first. A host created '
                     'with one of them and not enrolled yet still gets its OTP '
                     '(its owner record names the key id of its secret). Drop a '
                     'secret once every host made with it has enrolled or is '
                     'gone (README, "Rotating the OTP secret").'),
    cfg.ListOpt('required_boot_roles', default=[],
                help='If set, an instance enrolls only when the user who booted it '
                     'held at least one of these roles (nova\'s boot-roles). '
                     'Otherwise the request is refused with 403.'),
    cfg.ListOpt('allowed_hostclasses', default=['*'],
                help='Host classes (ipa_hostclass metadata, IPA userclass) any '
                     'project may use. "*" allows every class. Add per-project '
                     'classes with project_hostclasses.'),
    cfg.DictOpt('project_hostclasses', default={},
                help='Extra host classes per project: project-id:class1|class2,'
                     'project-id2:class3.'),
    cfg.StrOpt('cloud_id', default='default',
               regex=r'^[A-Za-z0-9._-]{1,64}\Z',
               help='This cloud\'s name in the ownership record of every IPA '
                    'host novajoin creates (cloud=<id>). novajoin-notify and '
                    'the reconciler only ever remove hosts of their own '
                    'cloud. Every cloud that shares an IPA realm must have '
                    'its own; every novajoin service of one cloud the same. '
                    'Changing it later leaves the hosts recorded under the '
                    'old one alone (see the README, "Security model").'),
    cfg.BoolOpt('legacy_records', default=True,
                help='Count ownership records written before cloud_id existed '
                     '(no cloud=) as this cloud\'s. Right for a single cloud; '
                     'when several clouds share a realm, turn it off on all '
                     'but the one that created those hosts.'),
    cfg.ListOpt('service_projects', default=[],
                help='Ids of the projects whose instances may ask for TripleO '
                     'services (compact_services, compact_service_<svc>, '
                     'managed_service_<x> metadata): service principals, '
                     'subhosts and managedBy links. Empty: no project may. A '
                     'request from any other project is refused with 403 and '
                     'nothing is created.'),
    cfg.ListOpt('service_types', default=list(services.DEFAULT_SERVICE_TYPES),
                help='Service names (the part before "/" of a principal) '
                     'service_projects may ask for. Principals IPA itself '
                     'uses (krbtgt, kadmin, K, ldap, host, cifs, DNS, ipa, '
                     'dogtag, ...) are refused even when listed here.'),
    cfg.IntOpt('max_host_name_length', default=64, min=4, max=253,
               help='Longest host FQDN (instance hosts and service subhosts) '
                    'novajoin asks IPA for; longer names get 400 before IPA is '
                    'asked. Keep it equal to IPA\'s own limit, "Maximum '
                    'hostname length" in ipa config-show (64 unless an '
                    'administrator changed it): IPA refuses longer names, and '
                    'nova would then get a 502 instead of a clear 400.'),
    cfg.BoolOpt('send_ca_cert', default=True,
                help='Hand guests the IPA CA certificate ([ipa] ca_file) with '
                     'their OTP, as "ipa_ca_cert", so ipa-client-install '
                     'trusts it from the start instead of downloading it over '
                     'plain HTTP (trust on first use). A ca_file that is not '
                     'PEM certificates stops the service at start; a missing '
                     'one is a warning and guests download the CA.'),
    cfg.IntOpt('image_cache_ttl', default=60, min=0,
               help='Seconds to cache a Glance image\'s properties (0: no cache).'),
    cfg.IntOpt('project_cache_ttl', default=300, min=0,
               help='Seconds to cache a keystone project\'s name (0: no cache).'),
    cfg.IntOpt('answer_cache_ttl', default=15, min=0,
               help='Seconds a process answers a repeated, identical vendordata '
                    'request with the answer it gave, without asking IPA (0: '
                    'always ask). Keeps refetches off IPA during a boot storm. '
                    'The OTP is derived, so the copy is the same bytes IPA '
                    'holds; an enrollment or a disable meanwhile makes it '
                    'harmless (IPA no longer accepts it). An instance rebuilt '
                    'and booted again within this many seconds of its previous '
                    'answer would get the old OTP: keep it well below the time '
                    'a rebuild and boot take.'),
    cfg.FloatOpt('request_deadline', default=4.5, min=0.5,
                 help='Seconds a vendordata request may spend in total, IPA calls '
                      'and retries included. Keep it under nova\'s '
                      'vendordata_dynamic_read_timeout (5 s by default) so nova '
                      'gets a clear error instead of a timeout.'),
]


def register_opts(conf):
    base.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
