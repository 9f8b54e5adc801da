"""The YAML condition operators: name → how it compiles to Rego.

Every operator compiles to a Rego body over ``x`` (the field's reference) and ``v`` (the
expected value, a JSON literal). A missing field satisfies no operator except
``exists: false``, ``empty: true`` and ``none`` (fail closed). Bodies never put a call with a
possibly-undefined argument under ``not`` (regorus and OPA disagree there).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    name: str
    doc: str
    value: str  # what the expected value must be: any, list, number, string, bool, int, condition
    body: str = ""  # Rego body with {x} and {v}; true when the condition holds
    negated: bool = False  # the body states the condition's *failure* (so the rule is `false if ...`)
    aliases: tuple[str, ...] = ()


OPERATORS: dict[str, Operator] = {}


def _op(*args, **kwargs) -> None:
    op = Operator(*args, **kwargs)
    OPERATORS[op.name] = op


_op("equals", "the field equals the value", "any", "{x} == {v}", aliases=("eq",))
_op("not_equals", "the field exists (present, not null) and differs from the value", "any", "{x} != null; {x} != {v}",
    aliases=("ne",))
_op("in", "the field is one of the listed values", "list", "{x} in {v}")
_op("not_in", "the field exists (present, not null) and is none of the listed values", "list",
    "{x} != null; not {x} in {v}")
_op("contains", "the list (or string) field contains the value", "any", "_contains_value({x}, {v})")
_op("not_contains", "the field is a list (or a string) and does not contain the value", "any",
    "_is_collection({x}); not _contains_value({x}, {v})")
_op("gt", "the field is greater than the value", "comparable", "{guard}({x}); {x} > {v}")
_op("gte", "the field is greater than or equal to the value", "comparable", "{guard}({x}); {x} >= {v}", aliases=("ge",))
_op("lt", "the field is less than the value", "comparable", "{guard}({x}); {x} < {v}")
_op("lte", "the field is less than or equal to the value", "comparable", "{guard}({x}); {x} <= {v}", aliases=("le",))
_op("matches", "the string field matches the regular expression (RE2 syntax)", "string",
    "is_string({x}); regex.match({v}, {x})")
_op("exists", "true: the field is present and not null; false: it is absent or null", "bool", "{x} != null")
_op("empty", "true: the field is absent, null, or an empty string, list or object", "bool",
    "_non_empty({x})", negated=True)
_op("min_length", "the string, list or object has at least this many items", "int",
    "_length({x}) >= {v}", aliases=("min_items",))
_op("max_length", "the string, list or object has at most this many items", "int",
    "_length({x}) <= {v}", aliases=("max_items",))
_op("max_age_days", "the date (YYYY-MM-DD or RFC 3339) is at most this many calendar days (UTC) before `now`'s day",
    "number",
    "_is_date({x}); _days_since({x}, input.now) <= {v}", aliases=("within_days",))
_op("min_age_days", "the date is at least this many calendar days (UTC) before `now`'s day", "number",
    "_is_date({x}); _days_since({x}, input.now) >= {v}", aliases=("older_than_days",))
_op("every", "the field is a list and every item satisfies the nested condition", "condition")
_op("some", "the field is a list and at least one item satisfies the nested condition", "condition", aliases=("any_item",))
_op("none", "no item of the list satisfies the nested condition (true when the list is absent)", "condition",
    aliases=("no_item",))

QUANTIFIERS = ("every", "some", "none")
ALIASES = {alias: op.name for op in OPERATORS.values() for alias in op.aliases}


def lookup(name: str) -> Operator | None:
    return OPERATORS.get(ALIASES.get(name, name))


# Helpers a compiled policy may call, copied into the module that uses them (a module is
# self-contained, and local calls are cheaper than calls through ``data`` in regorus). Each is
# total on its inputs: type guards first, so a builtin never sees a value that makes it raise.
HELPERS: dict[str, str] = {
    "_contains_value": """_contains_value(x, v) if {
	is_array(x)
	v in x
}

_contains_value(x, v) if {
	is_set(x)
	v in x
}

_contains_value(x, v) if {
	is_string(x)
	is_string(v)
	contains(x, v)
}
""",
    "_is_collection": """_is_collection(x) if is_array(x)

_is_collection(x) if is_string(x)
""",
    "_non_empty": """_non_empty(x) if {
	is_string(x)
	x != ""
}

_non_empty(x) if {
	is_array(x)
	count(x) > 0
}

_non_empty(x) if {
	is_object(x)
	count(x) > 0
}

_non_empty(x) if is_number(x)

_non_empty(x) if is_boolean(x)
""",
    # a string's length in code points: regorus's count() of a string counts UTF-16 units
    # ("👍🏽" is 4 there, 2 on OPA); the regex counts code points on both (docs/opa.md)
    "_length": """_length(x) := count(regex.find_n(`(?s).`, x, -1)) if is_string(x)

_length(x) := count(x) if is_array(x)

_length(x) := count(x) if is_object(x)
""",
    # "T" only: regorus's time.parse_rfc3339_ns also takes a space there, OPA's does not
    "_is_date": """_is_date(x) if {
	is_string(x)
	regex.match(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$`, x)
}
""",
    # Calendar days: both instants are taken to their UTC calendar day first, so a date exactly N
    # days before now's day is N days old whatever the time of ``now`` (docs/writing-policies.md).
    "_days_since": """_date_ns(x) := time.parse_ns("2006-01-02", x) if count(x) == 10

_date_ns(x) := time.parse_rfc3339_ns(x) if count(x) > 10

_utc_day_ns(ns) := time.parse_ns("2006-01-02", sprintf("%04d-%02d-%02d", time.date(ns)))

_days_since(x, now) := (_utc_day_ns(time.parse_rfc3339_ns(now)) - _utc_day_ns(_date_ns(x))) / 86400000000000
""",
}


def helpers_for(rego: str) -> str:
    """The helper definitions ``rego`` calls, in a fixed order."""
    return "\n".join(text for name, text in HELPERS.items() if f"{name}(" in rego)
