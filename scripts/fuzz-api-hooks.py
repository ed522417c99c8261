"""schemathesis hooks for scripts/fuzz-api.sh: checks only this API can state.

scripts/fuzz-api.toml lets two built-in checks pass a few statuses whose cause lies outside the
request; the checks here hold each such answer to exactly that cause, so the same status for any
other reason is still a finding.
"""

import os

import schemathesis


def _json(response):
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - a non-JSON body is reported by the content-type checks
        return {}
    return body if isinstance(body, dict) else {}


def _normalized_name_length(image):
    """The repository name's length as the engine normalizes it (see normalizedNameLength in gateway/src/validation.ts)."""
    name = image.split("@", 1)[0]
    if name.rfind(":") > name.rfind("/"):
        name = name[: name.rfind(":")]
    head, slash, _ = name.partition("/")
    if slash and ("." in head or ":" in head or head == "localhost"):
        return len(name)
    return len("docker.io/") + (0 if slash else len("library/")) + len(name)


@schemathesis.check
def timeout_is_the_functions_own(ctx, response, case):
    """A 504 is FAAS_ERR_TIMEOUT for the timeout_ms the request chose, and names it."""
    if response.status_code != 504:
        return None
    body = _json(response)
    if body.get("code") != "FAAS_ERR_TIMEOUT":
        raise AssertionError(f"a 504 must be FAAS_ERR_TIMEOUT, the function's own timeout; got {str(body)[:300]}")
    requested = case.body.get("timeout_ms") if isinstance(case.body, dict) else None
    if requested is None or body.get("timeout_ms") != requested:
        raise AssertionError(
            f"a 504 must follow a timeout_ms the request chose and name it; requested {requested!r}, answered {body.get('timeout_ms')!r}"
        )
    return None


@schemathesis.check
def valid_requests_refused_only_for_the_host(ctx, response, case):
    """A request the document allows is refused 4xx only for what the host lacks: the image, or cores."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    body = _json(response)
    code = body.get("code")
    if response.status_code == 422 and code == "FAAS_ERR_IMAGE_NOT_FOUND":
        return None
    image = case.body.get("image") if isinstance(case.body, dict) else None
    if (
        response.status_code == 400
        and code == "FAAS_ERR_INVALID_IMAGE"
        and isinstance(image, str)
        and _normalized_name_length(image) > 255
    ):
        return None  # the documented rule the schema cannot state: 255 characters once docker.io/ is added
    limits = case.body.get("limits") if isinstance(case.body, dict) else None
    cpus = limits.get("cpus") if isinstance(limits, dict) else None
    host_cpus = float(os.environ["FUZZ_API_HOST_CPUS"])
    if (
        response.status_code == 400
        and code == "FAAS_ERR_INVALID_LIMITS"
        and body.get("field") == "limits.cpus"
        and isinstance(cpus, (int, float))
        and cpus > host_cpus
    ):
        return None
    raise AssertionError(
        f"a request the document allows was refused {response.status_code} {code}: {str(body.get('error'))[:300]}"
    )
