"""Connections outside loopback raise at once: installed in subprocesses by sitecustomize.py, patched in by tests."""
import ipaddress
import socket

LOCAL_NAMES = (None, "localhost", "127.0.0.1", "::1", "0.0.0.0")


def check(address) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
        raise PermissionError(f"network egress blocked in test: {address!r}")


def guarded(original):
    """socket.connect / connect_ex that refuse any non-loopback internet address."""
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return original(self, address)
    return connect


def guarded_getaddrinfo(original):
    def getaddrinfo(host, *args, **kwargs):
        if host not in LOCAL_NAMES:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise socket.gaierror(f"DNS blocked in test: {host}") from None
        return original(host, *args, **kwargs)
    return getaddrinfo


def install() -> None:
    socket.socket.connect = guarded(socket.socket.connect)
    socket.socket.connect_ex = guarded(socket.socket.connect_ex)
    socket.getaddrinfo = guarded_getaddrinfo(socket.getaddrinfo)
