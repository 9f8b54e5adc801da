"""A real OPA server as the Rego engine, through ``opa-python-client``.

``load`` moves the policy set into a namespace of its own (``engine.engines.namespace``: a digest
of the modules and data) and pushes every module under ``gavel/<namespace>/...`` and the data under
``/v1/data/gavel_sets/<namespace>``, plus a small ``gavel_batch`` module; all or nothing (a failed
push removes what it added). ``evaluate`` queries ``data.gavel_sets.<ns>.gavel_batch.results`` with
many subjects per request (``with input as`` per subject), falling back to one request per subject
when a batch fails, so an evaluation error is pinned to its subject and becomes an ``error``
finding there, as with the embedded engine.

Queries run with ``strict-builtin-errors``: OPA otherwise turns a builtin error into
"undefined", which could read as a pass; regorus aborts the query, and so does this engine.
A server that cannot be reached, refuses the token or answers nonsense raises ``EngineError``
(exit 2) within about the configured timeout: never a silent pass.

Many projects (and versions of one) share a server: each set lives in its own namespace, and
``gavel opa push --name NAME`` points the stable ``data.gavel_projects.NAME`` at one of them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import urlparse

from engine.engines.namespace import rule_path
from engine.errors import EngineError, PolicyError, UsageError
from engine.policy.model import KINDS

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


def policy_id(name: str, namespace: str = "") -> str:
    """A stable OPA policy id under the Gavel prefix (and the set's namespace) for a module name
    (a file path, maybe with #)."""
    clean = re.sub(r"[^A-Za-z0-9_./-]", "_", name.removesuffix(".rego").replace("#", "/"))
    clean = re.sub(r"/+", "/", clean).strip("/").replace("..", "_")
    return f"{PREFIX}/{namespace}/{clean}" if namespace else f"{PREFIX}/{clean}"


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
        # --timeout bounds the whole run (push and every query), not one request: a server that
        # trickles its answers cannot keep a CI job alive past it.
        self.deadline = time.monotonic() + self.timeout
        if client is None:
            from opa_client.opa import OpaClient

            client = OpaClient(host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8181),
                               ssl=parsed.scheme == "https", token=token or None, retries=2, timeout=self.timeout)
        self.client = client
        self.pushed: list[str] = []
        self.namespace = ""  # set by load()

    # -- errors -------------------------------------------------------------------------------
    def _call(self, what: str, fn, *args, **kwargs):
        """Run one client call within the run's deadline; turn transport and server failures into
        ``EngineError``."""
        import requests

        try:
            return self._before_deadline(what, fn, *args, **kwargs)
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

    def _before_deadline(self, what: str, fn, *args, **kwargs):
        """``fn(*args)``, or ``EngineError`` once the deadline passes: requests' own timeout bounds
        each read, not a whole answer, so the call runs in a thread the run stops waiting for."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._late(what)
        if hasattr(self.client, "timeout"):
            self.client.timeout = remaining
        box: dict[str, Any] = {}

        def run():
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=run, name="gavel-opa-call", daemon=True)
        thread.start()
        thread.join(remaining)
        if thread.is_alive():
            raise self._late(what)
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _late(self, what: str) -> EngineError:
        return EngineError(f"OPA server {self.url} timed out ({what}): the run did not finish within --timeout "
                           f"{self.timeout:g}s; raise --timeout for a large inventory, or check the server")

    def _http_error(self, what: str, response) -> EngineError:
        status = getattr(response, "status_code", "?")
        body = _json_or_none(response)
        message = (body or {}).get("message") or (getattr(response, "text", "") or "")[:200]
        if status in (401, 403):
            return EngineError(f"OPA server {self.url} refused {what} (HTTP {status}): check --opa-token")
        return EngineError(f"OPA server {self.url}: {what} failed (HTTP {status}): {message}".rstrip(": "))

    # -- load ---------------------------------------------------------------------------------
    def load(self, modules: dict[str, str], data: dict[str, Any]) -> None:
        """Push ``modules`` and ``data`` into this set's own namespace, all or nothing.

        The namespace is a digest of the modules and data, so another project (or another
        version of this one) pushing to the same server never replaces what this run reads.
        When any push fails, what this call pushed is removed again before the error is raised.
        """
        from engine.engines.namespace import namespace_of, prefix, rewrite

        wanted_modules = {**modules, f"{BATCH_PACKAGE}.rego": BATCH_MODULE}
        self.namespace = namespace_of(wanted_modules, data)
        existing = set(self._call("listing policies", self.client.get_policies_list))
        wanted = {self.policy_id(name): (name, rewrite(text, self.namespace)) for name, text in wanted_modules.items()}
        pushed: list[str] = []
        try:
            for pid, (name, text) in wanted.items():  # dependency order: libraries, policies, wrapper, batch
                self._push_module(pid, name, text)
                pushed.append(pid)
            for key, value in data.items():
                self._push_data(f"{prefix(self.namespace).replace('.', '/')}/{key}", value)
        except BaseException:
            self._roll_back([pid for pid in pushed if pid not in existing])
            raise
        own = f"{PREFIX}/{self.namespace}/"
        for pid in sorted(i for i in existing if i.startswith(own) and i not in wanted):  # leftovers of a failed push
            self._delete_policy(pid)
        self.pushed = list(wanted)

    def publish(self, name: str) -> str | None:
        """Point the stable decision path ``data.gavel_projects.<name>.<kind>`` at this run's set.

        One module update swaps every kind at once, so a client never sees half of a push; the
        set the pointer held before is removed afterwards. Returns that earlier namespace.
        """
        from opa_client.errors import PolicyNotFoundError

        package = project_package(name)
        pid = f"{PREFIX}/projects/{package.rpartition('.')[2]}"
        try:
            old = self._call(f"reading {pid}", self.client.get_policy, pid)
        except PolicyNotFoundError:  # the first push under this name
            old = None
        result = old.get("result") if isinstance(old, dict) else None
        raw = str(result.get("raw", "")) if isinstance(result, dict) else ""
        found = re.search(r'^namespace := "(s[0-9a-f]+)"', raw, re.MULTILINE)
        previous = found.group(1) if found else None
        lines = [f"package {package}", "", "import rego.v1", "",
                 f"# Written by `gavel opa push`: the policy set {self.namespace}.",
                 f'namespace := "{self.namespace}"', ""]
        lines += [f"{kind} := {rule_path(f'data.gavel_eval.{kind}', self.namespace)}" for kind in KINDS]
        self._push_module(pid, pid, "\n".join(lines) + "\n")
        if previous and previous != self.namespace:
            self.remove(previous)
        return previous

    def remove(self, namespace: str) -> None:
        """Delete a namespace's modules (dependents first) and data from the server."""
        from contextlib import suppress

        from opa_client.errors import DeleteDataError

        from engine.engines.namespace import prefix

        existing = self._call("listing policies", self.client.get_policies_list)
        left = sorted(i for i in existing if i.startswith(f"{PREFIX}/{namespace}/"))
        while left:  # OPA refuses to delete a module others still call: retry those after the rest
            failed = []
            for pid in left:
                try:
                    self._delete_policy(pid)
                except _Refused:
                    failed.append(pid)
            if len(failed) == len(left):
                raise EngineError(f"OPA server {self.url}: cannot remove the old policy set {namespace} "
                                  f"({len(failed)} modules left, e.g. {failed[0]})")
            left = failed
        with suppress(DeleteDataError):  # already gone
            self._call(f"removing data of {namespace}", self.client.delete_data, prefix(namespace).replace(".", "/"))

    def policy_id(self, name: str) -> str:
        """The OPA policy id of a module of this run's namespace."""
        return policy_id(name, self.namespace)

    def _push_module(self, pid: str, name: str, text: str) -> None:
        from opa_client.errors import RegoParseError

        try:
            self._call(f"pushing {name}", self.client.update_policy_from_string, text, pid, rego_compat=False)
        except RegoParseError as exc:
            raise _policy_error(exc, name, self.namespace) from None
        except (TypeError, AttributeError) as exc:  # a non-JSON error body, or an empty module
            raise EngineError(f"OPA server {self.url}: pushing {name} failed: {exc}") from None

    def _roll_back(self, pids: list[str]) -> None:
        """Remove what a failed push added, dependents first; a server that is gone keeps it."""
        for pid in reversed(pids):
            try:
                self._delete_policy(pid)
            except EngineError:
                return

    def _push_data(self, key: str, value: Any) -> None:
        from opa_client.errors import RegoParseError

        try:
            self._call(f"pushing data.{key}", self.client.update_or_create_data, value, key)
        except RegoParseError as exc:
            raise EngineError(f"OPA server {self.url} rejected data.{key}: {exc.message}") from None

    def _delete_policy(self, pid: str) -> None:
        from opa_client.errors import DeletePolicyError

        try:
            self._call(f"removing the module {pid}", self.client.delete_policy, pid)
        except DeletePolicyError as exc:
            raise _Refused(f"OPA server {self.url}: cannot remove the module {pid}: {exc.message}") from None

    # -- evaluate -----------------------------------------------------------------------------
    def evaluate(self, rule: str, inputs: list[str]) -> list[Any]:
        head, _, name = rule.rpartition(".")
        if head == "data.gavel_eval":  # the wrapper's rules: in batches, through gavel_batch
            out: list[Any] = []
            for start in range(0, len(inputs), BATCH_SIZE):
                chunk = inputs[start : start + BATCH_SIZE]
                values = self._batch(name, chunk)
                out.extend(values if values is not None else [self._one(rule, doc) for doc in chunk])
            return out
        return [self._one(rule, doc) for doc in inputs]

    def _batch(self, name: str, chunk: list[str]) -> list[Any] | None:
        """The decisions for a chunk in one request, or None when the batch failed on one of them.

        An undefined batch means this policy set is no longer on the server (a restart, or someone
        removed it): every further query would be undefined too, so the run stops (exit 2) instead
        of reporting an error for each policy and subject.
        """
        body = {"rule": name, "docs": [json.loads(doc) for doc in chunk]}
        answer = self._query(rule_path(f"data.{BATCH_PACKAGE}.results", self.namespace), body)
        if isinstance(answer, _Undefined):
            raise EngineError(f"OPA server {self.url}: the policy set {self.namespace} is no longer on the server "
                              "(did OPA restart, or did something delete it?); run again to push it")
        if isinstance(answer, EngineError) or not isinstance(answer, list) or len(answer) != len(chunk):
            return None
        return answer

    def _one(self, rule: str, document: str) -> Any:
        value = self._query(rule_path(rule, self.namespace), json.loads(document))
        return EngineError(str(value)) if isinstance(value, _Undefined) else value

    def _query(self, rule: str, input_data: Any) -> Any:
        """The value of ``rule`` for ``input_data``; an ``EngineError`` value when evaluation failed."""
        package, _, name = rule.removeprefix("data.").rpartition(".")
        try:
            answer = self._call(f"querying {rule}", self._raw_query, package, name, input_data)
        except _EvalError as exc:
            return EngineError(plain(str(exc), self.namespace))
        if not isinstance(answer, dict):
            raise EngineError(f"OPA server {self.url}: querying {rule}: unexpected answer {str(answer)[:100]}")
        if "result" not in answer:
            return _Undefined(f"{plain(rule, self.namespace)} is undefined on the OPA server")
        return answer["result"]

    def _raw_query(self, package: str, name: str, input_data: Any) -> dict:
        import requests

        try:
            return self.client.query_rule(input_data, package, name, query_params=STRICT)
        except requests.exceptions.HTTPError as exc:
            if exc.response is not None and _is_eval_error(exc.response):
                raise _EvalError(exc.response) from None
            raise


def project_package(name: str) -> str:
    """The package of ``gavel opa push --name NAME``'s stable decisions."""
    return "gavel_projects." + (re.sub(r"[^A-Za-z0-9_]", "_", name) or "default")


class _Refused(EngineError):
    """OPA refused to delete a module (others still call into it)."""


class _Undefined(str):
    """The answer of a query whose document is undefined (OPA answers ``{}``)."""


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


def _policy_error(exc, name: str, namespace: str) -> PolicyError:
    """OPA rejected a module: name the module and the line OPA gave."""
    errors = exc.errors or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    row = (first.get("location") or {}).get("row")
    message = first.get("message") or exc.message or "rejected"
    return PolicyError(f"OPA rejected the module: {plain(message, namespace)}", file=name, line=row)


def plain(message: str, namespace: str) -> str:
    """``message`` with the namespace taken out of package paths and policy ids, as the user wrote them."""
    from engine.engines.namespace import prefix

    if not namespace:
        return message
    return message.replace(prefix(namespace) + ".", "").replace(f"{namespace}/", "")
