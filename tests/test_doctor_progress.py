"""labkit doctor's progress bar advances once per finished check."""

from labkit import doctor


def test_progress_bar_counts_every_check(capsys):
    names = ["cryptography ML-KEM/ML-DSA", "TEE simulation (cryptography)"]
    statuses = doctor.run(names, progress=True)
    assert [s.name for s in statuses] == names  # table order kept
    err = capsys.readouterr().err
    assert "labkit doctor" in err and "2/2" in err


def test_no_bar_unless_asked(capsys):
    doctor.run(["cryptography ML-KEM/ML-DSA"])
    assert "labkit doctor" not in capsys.readouterr().err
