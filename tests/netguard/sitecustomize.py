"""Loaded by subprocesses in the zero-egress tests: any connection outside loopback raises at once."""
import ipaddress
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _check(address):
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host in ("localhost",):
                return
        raise PermissionError(f"network egress blocked in test: {address!r}")


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _connect_ex(self, address)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1", "0.0.0.0"):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise socket.gaierror(f"DNS blocked in test: {host}") from None
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = getaddrinfo
