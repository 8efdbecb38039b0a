"""Schemathesis hooks for tests/schemathesis.test.mjs (loaded through SCHEMATHESIS_HOOKS).

- API keys: every request carries a key with every scope for proj_123, drawn in turn from a
  pool (INCARTS_KEYS, comma-separated), because the admin API limits each key to 300 requests
  a minute and a run sends thousands.
- Real resources: the `linkId` path parameter gets the ids of links the test made first
  (INCARTS_LINK_IDS) as its examples, so operations on a link reach their logic, not only 404.
- One more check, `positive_rejections_are_cross_field_rules`: a request that the document
  says is valid may only be refused with a 400 for a shape check that JSON Schema cannot state
  and that the document names in prose (an id listed twice as a string and as a number,
  mutually exclusive fields, expiresAt before startsAt, QR colours that do not scan, a QR size too small for its code, …).
  Business rules answer 422, never 400. Where a 400 can happen, tests/schemathesis.toml lets
  `positive_data_acceptance` accept it, and this check decides whether the 400 was fair.
"""

import itertools
import os
import threading

import schemathesis

_KEYS = [k for k in os.environ.get("INCARTS_KEYS", "").split(",") if k]
_next_key = itertools.cycle(_KEYS)
_lock = threading.Lock()


@schemathesis.auth(refresh_interval=None)
class PooledApiKey:
    def get(self, case, context):
        with _lock:
            return next(_next_key)

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["X-Incarts-API-Key"] = data


@schemathesis.hook
def before_load_schema(context, raw_schema):
    ids = [i for i in os.environ.get("INCARTS_LINK_IDS", "").split(",") if i]
    if not ids:
        return
    param = raw_schema["components"]["parameters"]["LinkId"]
    param.pop("example", None)
    param["examples"] = {f"seeded{n}": {"value": link_id} for n, link_id in enumerate(ids)}


def _is(key, *codes):
    return lambda d: d.get("key") == key and d.get("code") in codes


def _ends(suffix, *codes):
    return lambda d: str(d.get("key", "")).endswith(suffix) and d.get("code") in codes


def _code(*codes):
    return lambda d: d.get("code") in codes


# Rules the document states in prose because JSON Schema cannot, per operation.
_QR_CONTRAST = lambda d: (  # noqa: E731
    str(d.get("key", "")).endswith("fg")
    and d.get("code") == "invalid_style"
    and ("contrast" in d.get("message", "") or "darker" in d.get("message", ""))
)
# A size too small for the code of the URL it encodes (under 2 px per module): the module count
# depends on that URL, which no schema can know.
_QR_SIZE = lambda d: (  # noqa: E731
    str(d.get("key", "")).endswith("size")
    and d.get("code") == "invalid_style"
    and "pixels per module" in d.get("message", "")
)
CROSS_FIELD_RULES = {
    ("POST", "/v1/links"): [
        _code("duplicate"),  # a backup, tag, UPC or product id listed twice ("1" and 1 are one id)
        _code("conflict"),  # retailerProductId with offerId, upcs with productIds, measurements with quantity/unit
        _ends("options.expiresAt", "out_of_range"),  # expiresAt after startsAt (a link's, an offer's)
        _ends("metadata", "too_large"),  # at most 4 KiB serialized (link and default QR code)
        _QR_CONTRAST,  # fg darker than bg, contrast at least 3:1
        _QR_SIZE,  # at least 2 px per module for the code's URL
        _code("redirect_loop", "host_not_allowed"),  # destinations checked against hosts
        # URLs over their limit once normalised (percent-encoded): a link's or an offer's
        # customUrl / fallbackUrl (2,048), Instacart's partnerLinkbackUrl, a where-to-buy
        # page's images (512).
        _ends("customUrl", "too_long"),
        _ends("fallbackUrl", "too_long"),
        _ends("options.instacart.partnerLinkbackUrl", "too_long"),
        _ends("logoUrl", "too_long"),
        _ends("heroImageUrl", "too_long"),
        _ends("imageUrl", "too_long"),
    ],
    ("POST", "/v1/links/{linkId}/qr-codes"): [_QR_CONTRAST, _QR_SIZE, _is("metadata", "too_large")],
    ("GET", "/v1/projects/{projectId}/out-of-stock"): [
        _is("to", "out_of_range"),  # to must be after from; the range ends by 9999-12-31T23:00Z
        _is("from", "out_of_range"),
    ],
    ("GET", "/v1/links/{linkId}/stats"): [
        _is("to", "out_of_range"),  # to must be after from; the range ends by 9999-12-31T23:00Z
        _is("from", "out_of_range"),  # the range ends by 9999-12-31T23:00Z
        _is("granularity", "out_of_range"),  # at most 10,000 buckets
    ],
}


@schemathesis.check
def positive_rejections_are_cross_field_rules(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    rules = CROSS_FIELD_RULES.get((case.method.upper(), case.operation.path))
    if rules is None:
        return None
    try:
        details = response.json()["error"].get("details") or []
    except Exception:  # noqa: BLE001 — a non-JSON 400 is unexplained
        details = []
    unexplained = [d for d in details if not any(rule(d) for rule in rules)]
    if unexplained or not details:
        raise AssertionError(
            "A request valid by the document was refused for a reason the document does not "
            f"state: {unexplained or response.text[:500]}"
        )
    return None
