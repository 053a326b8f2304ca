"""Shared test set-up: fast mode and a throw-away lab home for every test session."""

from __future__ import annotations

import os
import tempfile

# Before labkit is imported anywhere: shrunken workloads, and a lab home that
# never touches the user's ~/.labkit.
os.environ["LABKIT_FAST"] = "1"
os.environ.setdefault("LABKIT_HOME", tempfile.mkdtemp(prefix="labkit-test-home-"))
