"""Run novajoin-notify, with IPA's address redirected when a test asks.

With ``NJ_TEST_IPA_PORT`` set, connections to ipa.example.test:443 go to
127.0.0.1:<port> (the test's ipa_proxy) instead. Only the address changes: the
URL, TLS server name, certificate check and Referer stay ipa.example.test, so
everything novajoin does against IPA is what it does in production.
"""
import os
import socket
import sys

IPA_NAME = 'ipa.example.test'


def redirect(port):
    real = socket.getaddrinfo

    def getaddrinfo(host, service, *args, **kwargs):
        if host == IPA_NAME and str(service) in ('443', 'https'):
            return real('127.0.0.1', port, *args, **kwargs)
        return real(host, service, *args, **kwargs)
    socket.getaddrinfo = getaddrinfo


def main():
    if os.environ.get('NJ_TEST_IPA_PORT'):
        redirect(int(os.environ['NJ_TEST_IPA_PORT']))
    from novajoin.cmd import notify
    return notify.main(sys.argv[1:])


if __name__ == '__main__':
    sys.exit(main())
