"""A real OPA server as the Rego engine, through ``opa-python-client``.

``load`` pushes every module under Gavel-owned policy ids (``gavel/...``) and the data under
``/v1/data/gavel`` (Rego policies read ``data.gavel.inventory``), plus a small ``gavel_batch``
module, then removes ``gavel/`` modules left over from an earlier push. ``evaluate`` queries
``data.gavel_batch.results`` with many subjects per request (``with input as`` per subject),
falling back to one request per subject when a batch fails, so an evaluation error is pinned
to its subject and becomes an ``error`` finding there, as with the embedded engine.

Queries run with ``strict-builtin-errors``: OPA otherwise turns a builtin error into
"undefined", which could read as a pass; regorus aborts the query, and so does this engine.
A server that cannot be reached, refuses the token or answers nonsense raises ``EngineError``
(exit 2) within about the configured timeout: never a silent pass.

One OPA server (or fleet) serves one Gavel policy set: the packages (``gavel_eval``,
``gavel.lib``, the policies' own) and ``data.gavel`` are global on a server.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlparse

from engine.errors import EngineError, PolicyError, UsageError

PREFIX = "gavel"
BATCH_PACKAGE = "gavel_batch"
BATCH_MODULE = f"""package {BATCH_PACKAGE}

import rego.v1

# One decision per input document: input = {{"rule": NAME, "docs": [DOC, ...]}}.
# The rule name is read before `with` replaces the input.
results := [r | name := input.rule; some doc in input.docs; r := data.gavel_eval[name] with input as doc]
"""
BATCH_SIZE = 100
STRICT = {"strict-builtin-errors": "true"}
DEFAULT_TIMEOUT = 10.0


def policy_id(name: str) -> str:
    """A stable OPA policy id under the Gavel prefix for a module name (a file path, maybe with #)."""
    clean = re.sub(r"[^A-Za-z0-9_./-]", "_", name.removesuffix(".rego").replace("#", "/"))
    clean = re.sub(r"/+", "/", clean).strip("/").replace("..", "_")
    return f"{PREFIX}/{clean}"


class OpaEngine:
    name = "opa"

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float | None = None,
                 client: Any = None, **_options):
        if not url:
            raise UsageError("--engine opa needs --opa-url (or engine.opa_url in gavel.yaml)")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UsageError(f"--opa-url must look like http://HOST:PORT, got {url!r}")
        if parsed.path not in ("", "/"):
            raise UsageError(f"--opa-url takes the server's root (http://HOST:PORT), not a path: {url!r}")
        self.url = url.rstrip("/")
        self.timeout = float(timeout) if timeout else DEFAULT_TIMEOUT
        if self.timeout <= 0:
            raise UsageError("--timeout must be positive")
        if client is None:
            from opa_client.opa import OpaClient

            retries = 2
            client = OpaClient(host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8181),
                               ssl=parsed.scheme == "https", token=token or None, retries=retries,
                               timeout=self.timeout / (retries + 1))
        self.client = client
        self.pushed: list[str] = []

    # -- errors -------------------------------------------------------------------------------
    def _call(self, what: str, fn, *args, **kwargs):
        """Run one client call; turn transport and server failures into ``EngineError``."""
        import requests

        try:
            return fn(*args, **kwargs)
        except requests.exceptions.HTTPError as exc:
            raise self._http_error(what, exc.response) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            reason = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "is unreachable"
            raise EngineError(f"OPA server {self.url} {reason} ({what}); check --opa-url and that OPA is running "
                              f"(timeout {self.timeout:g}s)") from None
        except ValueError as exc:  # a body that is not JSON (requests' JSONDecodeError is one too)
            raise EngineError(f"OPA server {self.url}: {what}: the answer is not OPA's JSON ({exc})") from None
        except requests.exceptions.RequestException as exc:
            raise EngineError(f"OPA server {self.url}: {what} failed: {exc}") from None

    def _http_error(self, what: str, response) -> EngineError:
        status = getattr(response, "status_code", "?")
        body = _json_or_none(response)
        message = (body or {}).get("message") or (getattr(response, "text", "") or "")[:200]
        if status in (401, 403):
            return EngineError(f"OPA server {self.url} refused {what} (HTTP {status}): check --opa-token")
        return EngineError(f"OPA server {self.url}: {what} failed (HTTP {status}): {message}".rstrip(": "))

    # -- load ---------------------------------------------------------------------------------
    def load(self, modules: dict[str, str], data: dict[str, Any]) -> None:
        from opa_client.errors import RegoParseError

        existing = self._call("listing policies", self.client.get_policies_list)
        wanted = {policy_id(name): (name, text) for name, text in modules.items()}
        wanted[f"{PREFIX}/{BATCH_PACKAGE}"] = (f"{BATCH_PACKAGE}.rego", BATCH_MODULE)
        for pid, (name, text) in wanted.items():  # dependency order: lib, libraries, policies, wrapper, batch
            try:
                self._call(f"pushing {name}", self.client.update_policy_from_string, text, pid, rego_compat=False)
            except RegoParseError as exc:
                raise _policy_error(exc, name) from None
            except (TypeError, AttributeError) as exc:  # a non-JSON error body, or an empty module
                raise EngineError(f"OPA server {self.url}: pushing {name} failed: {exc}") from None
        for key, value in data.items():
            self._push_data(key, value)
        stale = sorted((i for i in existing if i.startswith(PREFIX + "/") and i not in wanted),
                       key=lambda i: (i.startswith(f"{PREFIX}/gavel/lib"), i))
        for pid in stale:
            self._delete_policy(pid)
        self.pushed = list(wanted)

    def _push_data(self, key: str, value: Any) -> None:
        from opa_client.errors import RegoParseError

        try:
            self._call(f"pushing data.{key}", self.client.update_or_create_data, value, key)
        except RegoParseError as exc:
            raise EngineError(f"OPA server {self.url} rejected data.{key}: {exc.message}") from None

    def _delete_policy(self, pid: str) -> None:
        from opa_client.errors import DeletePolicyError

        try:
            self._call(f"removing the stale module {pid}", self.client.delete_policy, pid)
        except DeletePolicyError as exc:
            raise EngineError(f"OPA server {self.url}: cannot remove the stale module {pid}: {exc.message}") from None

    # -- evaluate -----------------------------------------------------------------------------
    def evaluate(self, rule: str, inputs: list[str]) -> list[Any]:
        head, _, name = rule.rpartition(".")
        out: list[Any] = []
        if head == "data.gavel_eval" and len(inputs) > 1:
            for start in range(0, len(inputs), BATCH_SIZE):
                chunk = inputs[start : start + BATCH_SIZE]
                values = self._batch(name, chunk)
                out.extend(values if values is not None else [self._one(rule, doc) for doc in chunk])
            return out
        return [self._one(rule, doc) for doc in inputs]

    def _batch(self, name: str, chunk: list[str]) -> list[Any] | None:
        """The decisions for a chunk in one request, or None when the batch failed on one of them."""
        body = {"rule": name, "docs": [json.loads(doc) for doc in chunk]}
        answer = self._query(f"data.{BATCH_PACKAGE}.results", body)
        if isinstance(answer, EngineError) or not isinstance(answer, list) or len(answer) != len(chunk):
            return None
        return answer

    def _one(self, rule: str, document: str) -> Any:
        return self._query(rule, json.loads(document))

    def _query(self, rule: str, input_data: Any) -> Any:
        """The value of ``rule`` for ``input_data``; an ``EngineError`` value when evaluation failed."""
        package, _, name = rule.removeprefix("data.").rpartition(".")
        try:
            answer = self._call(f"querying {rule}", self._raw_query, package, name, input_data)
        except _EvalError as exc:
            return EngineError(str(exc))
        if not isinstance(answer, dict):
            raise EngineError(f"OPA server {self.url}: querying {rule}: unexpected answer {str(answer)[:100]}")
        if "result" not in answer:
            return EngineError(f"{rule} is undefined on the OPA server (is the policy set pushed?)")
        return answer["result"]

    def _raw_query(self, package: str, name: str, input_data: Any) -> dict:
        import requests

        try:
            return self.client.query_rule(input_data, package, name, query_params=STRICT)
        except requests.exceptions.HTTPError as exc:
            if exc.response is not None and _is_eval_error(exc.response):
                raise _EvalError(exc.response) from None
            raise


class _EvalError(Exception):
    def __init__(self, response):
        super().__init__(_eval_message(response))
        self.response = response


def _json_or_none(response) -> dict | None:
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - any non-JSON body
        return None
    return body if isinstance(body, dict) else None


def _is_eval_error(response) -> bool:
    """OPA's answer for a query whose evaluation failed (a builtin error, a conflict), not a server fault."""
    body = _json_or_none(response)
    if not body or response.status_code != 500:
        return False
    text = body.get("message", "") + " ".join(e.get("code", "") for e in body.get("errors", []) or [])
    return body.get("code") == "internal_error" and ("eval_" in text or "conflict" in text)


def _eval_message(response) -> str:
    body = _json_or_none(response) or {}
    errors = body.get("errors") or []
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        where = first.get("location") or {}
        prefix = f"{where.get('file')}:{where.get('row')}: " if where.get("file") else ""
        return prefix + str(first.get("message", body.get("message", "evaluation failed")))
    return str(body.get("message", "evaluation failed"))


def _policy_error(exc, name: str) -> PolicyError:
    """OPA rejected a module: name the module and the line OPA gave."""
    errors = exc.errors or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    row = (first.get("location") or {}).get("row")
    message = first.get("message") or exc.message or "rejected"
    return PolicyError(f"OPA rejected the module: {message}", file=name, line=row)
