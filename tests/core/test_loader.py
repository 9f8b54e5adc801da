"""Safe reading of untrusted YAML and JSON: limits, aliases, line numbers."""

import pytest

from engine.errors import EvidenceError
from engine.evidence.loader import Limits, parse


def test_dates_stay_strings_and_lines_are_found():
    doc = parse("id: m1\nlast_review: 2026-01-02\nmetrics:\n  fairness:\n    - name: dpd\n      value: 0.2\n", "m.yaml")
    assert doc.data["last_review"] == "2026-01-02"
    assert doc.line_of(["metrics", "fairness", 0, "value"]) == 6
    assert doc.line_of(["nope"]) == 1  # nearest existing parent: the document
    assert doc.key_line("last_review") == 2


def test_alias_bomb_is_refused_quickly():
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
    with pytest.raises(EvidenceError) as err:
        parse(bomb, "bomb.yaml")
    assert "alias" in err.value.message and err.value.line == 2
    assert str(err.value).startswith("bomb.yaml:2: ")


def test_star_in_plain_text_is_not_an_alias():
    doc = parse("description: 'uses *all* features'\nnote: a * b\n", "m.yaml")
    assert doc.data["note"] == "a * b"


def test_depth_limit():
    deep = "a:\n" + "".join("  " * i + "  b:\n" for i in range(1, 12)) + "  " * 12 + "  c: 1\n"
    with pytest.raises(EvidenceError, match="nesting deeper than 8"):
        parse(deep, "deep.yaml", limits=Limits(max_depth=8))
    deep_json = "[" * 50 + "]" * 50
    with pytest.raises(EvidenceError, match="nesting deeper"):
        parse(deep_json, "deep.json", limits=Limits(max_depth=20))


def test_size_limit(tmp_path):
    from engine.evidence.loader import read_text

    big = tmp_path / "big.yaml"
    big.write_text("x: " + "a" * 2000)
    with pytest.raises(EvidenceError, match="over the 1000-byte limit"):
        read_text(big, "big.yaml", Limits(max_bytes=1000))


@pytest.mark.parametrize(
    ("text", "name", "line", "fragment"),
    [
        ("id: m1\nname: [unclosed\n", "m.yaml", 3, "invalid YAML"),
        ('{"id": "m1",\n "name": }', "m.json", 2, "invalid JSON"),
        ("a: 1\n\tb: 2\n", "tab.yaml", 2, "invalid YAML"),
    ],
)
def test_syntax_errors_name_the_line(text, name, line, fragment):
    with pytest.raises(EvidenceError) as err:
        parse(text, name)
    assert fragment in err.value.message
    assert err.value.line == line
    assert err.value.file == name


def test_python_tags_are_never_constructed():
    with pytest.raises(EvidenceError):
        parse("x: !!python/object/apply:os.system ['echo pwned']\n", "evil.yaml")
