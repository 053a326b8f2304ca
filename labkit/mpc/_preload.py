"""Imported by the party fork server: loads torch and CrypTen once, before any party forks."""

from labkit.mpc._crypten import load

load()
