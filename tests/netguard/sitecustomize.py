"""Loaded by subprocesses in the zero-egress tests: any connection outside loopback raises at once."""
from egress import install

install()
