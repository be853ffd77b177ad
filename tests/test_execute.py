"""The notebook runner rejects bad requests before anything runs."""
import pytest

from aebottleneck.config import ConfigError
from aebottleneck.execute import main, parse_value


def test_unknown_parameter_is_an_error(capsys, tmp_path):
    assert main(["decorrelation", "--profile", "quick", "-p", "alpa", "0.1", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "notebook 'decorrelation' has no parameter 'alpa'" in err and "alphas" in err
    assert not any(tmp_path.iterdir())  # nothing executed


def test_unknown_profile_and_notebook(capsys, tmp_path):
    assert main(["data", "--profile", "ful", "--output-dir", str(tmp_path)]) == 2
    assert "profile='ful' is not allowed" in capsys.readouterr().err
    assert main(["dta", "--profile", "quick", "--output-dir", str(tmp_path)]) == 2
    assert "notebook='dta' is not allowed" in capsys.readouterr().err


def test_parse_value():
    assert parse_value("0.01") == 0.01
    assert parse_value("[0.001, 0.01]") == [0.001, 0.01]
    assert parse_value("None") is None
    assert parse_value("cpu") == "cpu"
