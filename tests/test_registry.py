import pytest

from arvc.errors import ArvcError
from arvc.registry import Registry


def test_registry_resolves_names_and_aliases_case_insensitively():
    reg: Registry[int] = Registry("thing")
    reg.add("Alpha", 1, "a")
    reg.add("beta", 2)
    assert reg.get("alpha") == 1 and reg.get("A") == 1 and reg.get("BETA") == 2
    assert reg.names() == ["Alpha", "beta"]


def test_registry_unknown_name_lists_choices():
    reg: Registry[int] = Registry("optimizer")
    reg.add("AdamW", 1)
    reg.add("RAdam", 2)
    with pytest.raises(ArvcError, match=r"unknown optimizer 'sgd'; choices: AdamW, RAdam"):
        reg.get("sgd")
