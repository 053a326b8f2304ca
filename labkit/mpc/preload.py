"""Imported by the party fork server: loads torch and CrypTen once, before any party forks."""

from labkit.mpc.backend import load

load()
