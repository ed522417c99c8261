"""schemathesis hooks for scripts/fuzz-api.sh: checks only this API can state.

scripts/fuzz-api.toml lets two built-in checks pass a few statuses whose cause lies outside the
request (the host, or what the platform holds right now); the checks here hold each such answer to
exactly that cause, so the same status for any other reason is still a finding. Where the cause is
the platform's state (is this function registered? what is its timeout?), the hooks ask the gateway
itself, with the run's admin key (FUZZ_API_BASE, FUZZ_API_ADMIN_KEY from fuzz-api.sh).
"""

import ast
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

import schemathesis

# CPython 3.11 before 3.11.9 keeps the AST constructor's recursion depth in state the threads share,
# so two `ast.parse` calls at once (Hypothesis describes lambdas that way; fuzz-api.sh runs two
# workers) can fail with "AST constructor recursion depth mismatch". One parse at a time avoids it.
_parse = ast.parse
_parse_lock = threading.Lock()


def _serialized_parse(*args, **kwargs):
    with _parse_lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse

INVOKE = "/functions/{function_id}/invoke"
LISTS_WITH_CURSOR = ("/functions", "/functions/{function_id}/invocations", "/dead-letters", "/keys")
# The limits of one env_vars list (gateway/src/validation.ts), which a definition's env_vars and
# secrets share, and an invocation's env_vars with them.
ENV_MAX_COUNT = 128
ENV_MAX_ENTRY_BYTES = 32 * 1024
ENV_MAX_TOTAL_BYTES = 256 * 1024
IF_MATCH = re.compile(r'^(?:\*|"[0-9]{1,15}")$')


def _json(response):
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - a non-JSON body is reported by the content-type checks
        return {}
    return body if isinstance(body, dict) else {}


def _body(case):
    return case.body if isinstance(case.body, dict) else {}


def _registered_function(function_id):
    """The function registered under `function_id` now, as `GET /functions/{id}` answers it; None when there is none."""
    url = f"{os.environ['FUZZ_API_BASE']}/functions/{urllib.parse.quote(str(function_id), safe='')}"
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {os.environ['FUZZ_API_ADMIN_KEY']}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as err:
        if err.code in (400, 404):
            return None
        raise AssertionError(f"GET /functions/{function_id} (asked by the hooks) answered {err.code}") from err


def _normalized_name_length(image):
    """The repository name's length as the engine normalizes it (see normalizedNameLength in gateway/src/validation.ts)."""
    name = image.split("@", 1)[0]
    if name.rfind(":") > name.rfind("/"):
        name = name[: name.rfind(":")]
    head, slash, _ = name.partition("/")
    if slash and ("." in head or ":" in head or head == "localhost"):
        return len(name)
    return len("docker.io/") + (0 if slash else len("library/")) + len(name)


def _epoch_ms(value):
    """A `since`/`until` value as epoch milliseconds (digits, or RFC 3339); None when it is neither."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    try:
        return int(datetime.fromisoformat(str(value).replace("z", "Z").replace("t", "T")).timestamp() * 1000)
    except (ValueError, OverflowError):
        return None


def _prefers_async(case):
    """True when the request's Prefer header holds the respond-async preference (RFC 7240), as the gateway reads it."""
    prefer = next((v for k, v in (case.headers or {}).items() if k.lower() == "prefer"), None)
    for preference in str(prefer or "").split(","):
        if preference.split(";")[0].split("=")[0].strip().lower() == "respond-async":
            return True
    return False


def _async_refusal(case, response, body):
    """True for the documented refusals of asynchronous invocations that depend on what the schema cannot state."""
    code = body.get("code")
    field = body.get("field")
    status = response.status_code
    headers = {k.lower() for k in (case.headers or {})}
    if case.operation.path == INVOKE and status == 400 and code == "FAAS_ERR_INVALID_REQUEST" and field in ("idempotency-key", "callback_url"):
        # Idempotency-Key and callback_url apply to asynchronous invocations only.
        return not _prefers_async(case)
    if status == 400 and code == "FAAS_ERR_INVALID_CALLBACK" and field == "callback_url":
        return True  # the address rules (FAAS_CALLBACK_ALLOW_*) and the URL grammar the schema cannot state
    # A key used before, by this run, for another request: the platform's state, not this request.
    return case.operation.path == INVOKE and status == 422 and code == "FAAS_ERR_IDEMPOTENCY_KEY_REUSED" and "idempotency-key" in headers


def _host_refusal(response, body, request):
    """True for a refusal that is the host's doing: the image, its name length, or cores."""
    code = body.get("code")
    if response.status_code == 422 and code == "FAAS_ERR_IMAGE_NOT_FOUND":
        return True
    image = request.get("image")
    if code == "FAAS_ERR_INVALID_IMAGE" and isinstance(image, str) and _normalized_name_length(image) > 255:
        return True  # the documented rule the schema cannot state: 255 characters once docker.io/ is added
    limits = request.get("limits")
    cpus = limits.get("cpus") if isinstance(limits, dict) else None
    return (
        code == "FAAS_ERR_INVALID_LIMITS"
        and body.get("field") == "limits.cpus"
        and isinstance(cpus, (int, float))
        and cpus > float(os.environ["FUZZ_API_HOST_CPUS"])
    )


def _documented_refusal(case, response, body):
    """True when a refusal of a documented-valid request has its documented, state- or host-given cause."""
    path = case.operation.path
    method = case.operation.method.upper()
    request = _body(case)
    query = case.query or {}
    code = body.get("code")
    field = body.get("field")
    status = response.status_code

    if status in (400, 422) and _host_refusal(response, body, request):
        return True
    if status in (400, 422) and _async_refusal(case, response, body):
        return True
    if path == INVOKE:
        function_id = (case.path_parameters or {}).get("function_id")
        definition = _registered_function(function_id)
        if status == 404 and code == "FAAS_ERR_FUNCTION_NOT_FOUND":
            # Ad-hoc requests are on in this run: only a body without `image` may miss a function.
            return "image" not in request and definition is None
        if definition is None:
            return False
        # A registered definition fixes image, command and executor, and caps timeout, limits and env.
        if status == 400 and code == "FAAS_ERR_FIELD_NOT_ALLOWED":
            return True
        return status == 400 and code == "FAAS_ERR_INVALID_ENV" and field == "env_vars" and _env_over_with(definition, request)
    if_match = next((v for k, v in (case.headers or {}).items() if k.lower() == "if-match"), None)
    if status == 412 and code == "FAAS_ERR_VERSION_CONFLICT":
        return if_match is not None and if_match != "*"
    if status == 400 and field == "if-match":
        # schemathesis knows If-Match as a header of its own and may send RFC 9110 forms (lists,
        # weak tags) the document does not allow here; only a value the document allows is a finding.
        return if_match is not None and not IF_MATCH.match(str(if_match))
    if status == 400 and (code == "FAAS_ERR_INVALID_QUERY" or method == "HEAD"):
        # A HEAD answer has no body: its cause is read from the query alone.
        if field in ("cursor", None) and path in LISTS_WITH_CURSOR and "cursor" in query:
            return True  # a cursor the server did not issue
        since, until = _epoch_ms(query.get("since")), _epoch_ms(query.get("until"))
        if field in ("since", "until", None) and ((since is not None and since < 0) or (until is not None and until < 0)):
            return True  # documented: not before 1970
        return field in ("since", None) and since is not None and until is not None and since > until
    if status == 400 and code == "FAAS_ERR_INVALID_ENV" and field == "secrets" and path.startswith("/functions"):
        if method == "PATCH":
            # Checked on the definition the patch makes: a name in both lists, or the shared limits,
            # may come from what is stored.
            return "secrets" in request or "env_vars" in request
        return _secrets_over(request)
    if path == "/keys" and method == "POST" and status == 400 and code == "FAAS_ERR_INVALID_REQUEST" and field == "functions":
        # Documented: a key with the admin or the metrics scope cannot be limited to some functions.
        functions = request.get("functions")
        scopes = request.get("scopes") or []
        return ("admin" in scopes or "metrics" in scopes) and isinstance(functions, list) and "*" not in functions
    if path == "/keys" and method == "POST" and status == 400 and code == "FAAS_ERR_INVALID_REQUEST" and field == "expires_at":
        expires = _epoch_ms(request.get("expires_at"))
        return expires is not None and expires <= time.time() * 1000 + 5000  # documented: in the future
    return False


def _size(text):
    return len(str(text).encode("utf-8", "surrogatepass"))


def _secrets_over(request):
    """True when a definition's secrets break a documented rule the schema cannot state."""
    secrets = request.get("secrets")
    if not isinstance(secrets, dict):
        return False
    env = [entry for entry in request.get("env_vars") or [] if isinstance(entry, str)]
    entries = [f"{name}={value}" for name, value in secrets.items() if isinstance(value, str)]
    clash = {entry.split("=", 1)[0] for entry in env} & set(secrets)
    too_big = any(_size(entry) > ENV_MAX_ENTRY_BYTES for entry in entries)
    total = sum(_size(entry) for entry in env + entries)
    return bool(clash) or too_big or len(env) + len(entries) > ENV_MAX_COUNT or total > ENV_MAX_TOTAL_BYTES


def _env_over_with(definition, request):
    """True when an invocation's env_vars, with the definition's variables and secrets, may exceed the shared limits."""
    extra = [entry for entry in request.get("env_vars") or [] if isinstance(entry, str)]
    own = definition.get("env_vars") or []
    secret_names = definition.get("secret_names") or []
    if len(own) + len(secret_names) + len(extra) > ENV_MAX_COUNT:
        return True
    # Secret values are never shown: with secrets, their bytes may be what tips the total.
    return bool(secret_names) or sum(_size(entry) for entry in own + extra) > ENV_MAX_TOTAL_BYTES


@schemathesis.check
def timeout_is_the_functions_own(ctx, response, case):
    """A 504 is FAAS_ERR_TIMEOUT for the timeout the invocation ran with (the request's, or the registered function's), and names it."""
    if response.status_code != 504:
        return None
    body = _json(response)
    if body.get("code") != "FAAS_ERR_TIMEOUT":
        raise AssertionError(f"a 504 must be FAAS_ERR_TIMEOUT, the function's own timeout; got {str(body)[:300]}")
    requested = _body(case).get("timeout_ms")
    if requested is None and case.operation.path == INVOKE:
        definition = _registered_function((case.path_parameters or {}).get("function_id"))
        if definition is not None:
            requested = definition.get("timeout_ms") or int(os.environ["FUZZ_API_DEFAULT_TIMEOUT_MS"])
    if requested is None or body.get("timeout_ms") != requested:
        raise AssertionError(
            f"a 504 must follow a timeout_ms the request or the registered function chose, and name it; expected {requested!r}, answered {body.get('timeout_ms')!r}"
        )
    return None


@schemathesis.check
def valid_requests_refused_only_for_documented_causes(ctx, response, case):
    """A request the document allows is refused 400, 404, 412 or 422 only for what the host lacks or what the platform holds."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 404, 412, 422):
        return None
    # A case built from positive parts may still carry one negative component (the coverage phase
    # mixes them): such a request is not one the document allows.
    if any(component.mode.is_negative for component in (meta.components or {}).values()):
        return None
    body = _json(response)
    # A 404 of another route names a resource the run never made (a random id): documented, and its
    # code is checked against the document by the schema checks.
    if response.status_code == 404 and case.operation.path != INVOKE:
        return None
    if _documented_refusal(case, response, body):
        return None
    raise AssertionError(
        f"a request the document allows was refused {response.status_code} {body.get('code')} (field {body.get('field')!r}): {str(body.get('error'))[:300]}"
    )
