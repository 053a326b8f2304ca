import pytest


@pytest.fixture(scope="module")
def dep():
    from labkit.tee import deploy

    with deploy() as d:
        yield d
