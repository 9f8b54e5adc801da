"""The builtins Gavel supplies to regorus (engine/engines/extensions.py), through the embedded
engine and ``gavel check``. Expected values are OPA's: copied from OPA's own conformance cases
(v1/test/cases/testdata/v1, folder and note named in each row), not computed by Gavel."""

from __future__ import annotations

import hashlib
import json

import pytest

from engine.engines.embedded import EmbeddedEngine
from engine.errors import EngineError
from tests.conftest import NOW, model_card

# (OPA conformance folder/note, Rego expression, OPA's answer)
OPA_CASES = [
    ("cryptosha256/crypto.sha256 with string", 'crypto.sha256("lorem ipsum")',
     "5e2bf57d3f40c4b6df69daf1936cb766f832374b4fc0259a7cbff06e2f70f269"),
    ("cryptohmacsha256/crypto.hmac.sha256", 'crypto.hmac.sha256("foo", "bar")',
     "147933218aaabc0b8b10a2b3a5c34684c8d94341bcf10a4736dc7270f7741851"),
    ("cryptohmacsha256/crypto.hmac.sha256_unicode",
     'crypto.hmac.sha256("\u00e5\u00e4\u00f6\u00e7\u00df\U0001f972\u2659\u03a9", "\u79d8\u5bc6\u306e")',
     "eb90daeb76d4b2571fbdaf94bbb240809faa8fed93ec0c260dd38c3fdf8d963a"),
    ("cryptohmacmd5/crypto.hmac.md5", 'crypto.hmac.md5("foo", "bar")', "31b6db9e5eb4addb42f1a6ca07367adc"),
    ("cryptohmacequal/crypto.hmac.equal_md5",
     'crypto.hmac.equal("31b6db9e5eb4addb42f1a6ca07367adc", "31b6db9e5eb4addb42f1a6ca07367adc")', True),
    ("cryptohmacequal/crypto.hmac.equal_false",
     'crypto.hmac.equal("31b6db9e5eb4addb42f1a6ca07367adc", "31b6db9e5eb4addb")', False),
    ("netcidrintersects/cidr subnet overlaps", 'net.cidr_intersects("192.168.1.0/25", "192.168.1.64/25")', True),
    ("netcidrintersects/cidr subnet does not overlap", 'net.cidr_intersects("192.168.1.0/24", "192.168.2.0/24")',
     False),
    ("netcidrintersects/cidr ipv6 subnet overlaps",
     'net.cidr_intersects("fd1e:5bfe:8af3:9ddc::/64", "fd1e:5bfe:8af3:9ddc:1111::/72")', True),
    ("netcidrmerge/cidr merge subnets case 2", 'net.cidr_merge(["192.0.2.112/30", "192.0.2.116/31", "192.0.2.118/31"])',
     ["192.0.2.112/29"]),
    ("netcidrmerge/cidr mix case 1", 'net.cidr_merge(["192.0.2.112/31", "192.0.2.116/31", "192.0.2.118/31"])',
     ["192.0.2.112/31", "192.0.2.116/30"]),
    ("netcidrmerge/cidr IPv4 and IPv6",
     'net.cidr_merge(["fe80::/120", "192.0.2.0/24", "192.0.3.0/24", "192.0.4.0/25", "192.0.4.128/25"])',
     ["192.0.2.0/23", "192.0.4.0/24", "fe80::/120"]),
    ("netcidrmerge/cidr merge ip addresses", 'net.cidr_merge(["192.0.128.0", "192.0.129.0"])', ["192.0.128.0/23"]),
    ("netcidrmerge/cidr empty", "net.cidr_merge([])", []),
    ("netcidrmerge/cidr merge ip and subnets", 'net.cidr_merge(["192.0.2.112", "192.0.2.116/31", "192.0.2.118/31"])',
     ["192.0.2.0/24"]),
    ("netcidrcontainsmatches/arrays",
     'net.cidr_contains_matches(["1.1.2.0/24", "1.1.1.0/24"], ["1.1.1.1", "1.1.2.1"])', [[0, 1], [1, 0]]),
    ("netcidrcontainsmatches/objects",
     'net.cidr_contains_matches({"k1": "1.1.1.1/24", "k2": ["1.1.1.2/24", 1]}, "1.1.1.128")',
     [["k1", "1.1.1.128"], ["k2", "1.1.1.128"]]),
    ("globsmatch/regex.globs_match", 'regex.globs_match("a.a.[0-9]+z", ".b.b2359825792*594823z")', True),
    ("globsmatch/regex.globs_match (no overlap)", 'regex.globs_match("[a-z]+", "[0-9]*")', False),
    ("rendertemplate/complex",
     'strings.render_template(`{{range $i, $name := .hellonames}}{{if $i}},{{end}}hello {{$name}}{{end}}`, '
     '{"hellonames": ["rohan", "john doe"]})', "hello rohan,hello john doe"),
    ("rendertemplate/simpleint", 'strings.render_template(`{{.test}}`, {"test": 2023})', "2023"),
    ("rendertemplate/missingmultiplekeys", 'strings.render_template(`test {{.foo}} {{.bar}} {{.baz}}`, {"baz": 1})',
     "test <undefined> <undefined> 1"),
]

OPA_ERRORS = [
    ("netcidrmerge/cidr ipv6 without prefix", 'net.cidr_merge(["2601:600:8a80:207e:a57d:7567:e2c9:e7b3"])',
     "needs prefix length"),
    ("netcidrintersects/cidr subnet overlap malformed cidr a", 'net.cidr_intersects("not-a-cidr", "192.168.1.0/24")',
     "invalid CIDR"),
    ("netcidrcontainsmatches/bad array", 'net.cidr_contains_matches(["1.1.2.0/24"], ["1.1.1.1", []])',
     "non-empty array"),
]


def value_of(expression: str):
    engine = EmbeddedEngine(isolate=False)
    engine.load({"x.rego": f"package x\n\nimport rego.v1\n\nv := {expression}\n"}, {})
    (value,) = engine.evaluate("data.x.v", ["{}"])
    return value


@pytest.mark.parametrize(("note", "expression", "want"), OPA_CASES, ids=[c[0] for c in OPA_CASES])
def test_extension_matches_opa(note, expression, want):
    got = value_of(expression)
    if isinstance(want, list):  # OPA returns sets here: compare as sets
        assert sorted(map(json.dumps, got)) == sorted(map(json.dumps, want))
    else:
        assert got == want


@pytest.mark.parametrize(("note", "expression", "fragment"), OPA_ERRORS, ids=[c[0] for c in OPA_ERRORS])
def test_extension_errors_where_opa_errors(note, expression, fragment):
    got = value_of(expression)
    assert isinstance(got, EngineError) and fragment in str(got)


def test_a_policy_using_extensions_loads_and_judges_through_gavel_check(gavel, project):
    policy = ("# METADATA\n# title: Endpoint inside the corporate range\n# custom:\n#   id: corp-net\n"
              "#   severity: high\n#   target: [model]\npackage t.net\n\nimport rego.v1\n\n"
              'deny contains msg if {\n\tnot net.cidr_intersects("10.0.0.0/8", input.subject.endpoint_cidr)\n'
              '\tmsg := sprintf("%s: %s (%s) is outside 10.0.0.0/8", [input.id, input.subject.endpoint_cidr, '
              "crypto.sha256(input.subject.endpoint_cidr)])\n}\n")
    config = "evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  paths: [policies]\n"
    cards = {"models/in.yaml": model_card("in"), "models/out.yaml": model_card("out")}
    # endpoint_cidr is not a card field: give it through a Rego-side default instead
    policy = policy.replace("input.subject.endpoint_cidr", "cidr")
    policy = policy.replace("deny contains msg if {\n", 'deny contains msg if {\n\tcidr := {"in": "10.1.0.0/16", '
                            '"out": "192.168.0.0/16"}[input.id]\n')
    root = project({**cards, "policies/net.rego": policy}, config=config)
    result = gavel("check", root, "-o", "json", "--now", NOW)
    assert result.exit_code == 1, result.output
    findings = {f["subject"]["id"]: f for f in json.loads(result.stdout)["findings"] if f["policy"] == "corp-net"}
    assert findings["in"]["status"] == "pass"
    assert findings["out"]["status"] == "fail"
    digest = hashlib.sha256(b"192.168.0.0/16").hexdigest()
    assert findings["out"]["message"] == f"out: 192.168.0.0/16 ({digest}) is outside 10.0.0.0/8"


def test_rego_unit_tests_see_the_extensions_too(gavel, tmp_path):
    (tmp_path / "h.rego").write_text("package t.h\n\nimport rego.v1\n\nh(x) := crypto.sha256(x)\n")
    (tmp_path / "h_test.rego").write_text(
        "package t.h_test\n\nimport rego.v1\n\ntest_hash if data.t.h.h(\"lorem ipsum\") == "
        "\"5e2bf57d3f40c4b6df69daf1936cb766f832374b4fc0259a7cbff06e2f70f269\"\n")
    result = gavel("test", tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output
