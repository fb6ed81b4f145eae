"""SigV4 verification with botocore's own canonicalization: the request is rebuilt as an ``AWSRequest`` and
botocore computes its canonical request and string to sign, so what we check is exactly what a client
signed. Only the last step is ours: the HMAC with a signing key derived once per (key, day, region, service)
and kept, compared in constant time.

Header signatures (``Authorization: AWS4-HMAC-SHA256 …``) and presigned queries (``X-Amz-Signature``) are
both accepted; ``UNSIGNED-PAYLOAD`` and S3's streaming markers stand for the body as S3 allows (a streamed
body's chunk signatures are not checked: the seed signature covers the headers).
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from botocore.auth import SigV4Auth
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
SKEW_S = 300  # AWS's five minutes
MAX_PRESIGN_S = 604_800
_UNHASHED = ("UNSIGNED-PAYLOAD", "STREAMING-")  # body stand-ins S3 allows in x-amz-content-sha256
_TS = "%Y%m%dT%H%M%SZ"
SecretFor = Callable[[str], str | None]  # access key id -> its secret, None when unknown


class AuthFailure(Exception):
    """A request refused before any API sees it, with AWS's code and message (HTTP 403)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def missing() -> AuthFailure:
    return AuthFailure("MissingAuthenticationTokenException", "Missing Authentication Token")


def unrecognized() -> AuthFailure:
    return AuthFailure("UnrecognizedClientException", "The security token included in the request is invalid.")


def mismatch() -> AuthFailure:
    return AuthFailure(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.",
    )


@dataclass(frozen=True)
class Signed:
    """What a verified signature tells: who signed, for which service and region."""

    access_key: str
    service: str
    region: str


@dataclass(frozen=True)
class _Parts:
    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str  # X-Amz-Date
    presigned: bool
    expires: int = 0


class _Headers(dict[str, list[str]]):
    """Header values by lower-case name, with the parts of botocore's ``HTTPHeaders`` its signer reads
    (``get_all``, a case-blind ``in`` and ``[]``); an ``email.message`` costs more than the rest of a check."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(str(name).lower())

    def __getitem__(self, name: str) -> str:  # type: ignore[override]
        return ",".join(super().__getitem__(name.lower()))

    def first(self, name: str) -> str | None:
        values = dict.get(self, name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        return dict.get(self, name) or dict.get(self, name.lower()) or []


@dataclass
class _Request:
    """The attributes of botocore's ``AWSRequest`` that its signer reads."""

    method: str
    url: str
    headers: _Headers
    body: bytes
    context: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


class _Canonical(SigV4Auth):
    """botocore's signer, told which headers the client signed instead of choosing them itself."""

    def __init__(self, parts: _Parts) -> None:
        super().__init__(Credentials(parts.access_key, ""), parts.service, parts.region)
        self.signed = parts.signed_headers

    def headers_to_sign(self, request: _Request) -> _Headers:
        given = request.headers
        return _Headers({name: dict.get(given, name) or [] for name in self.signed})


def _header_parts(authorization: str, headers: _Headers) -> _Parts:
    fields: dict[str, str] = {}
    for item in authorization[len(ALGORITHM) :].split(","):
        name, _, value = item.strip().partition("=")
        fields[name] = value
    try:
        access_key, date, region, service, terminal = fields["Credential"].split("/")
        signed = tuple(fields["SignedHeaders"].split(";"))
        signature = fields["Signature"]
    except (KeyError, ValueError):
        raise AuthFailure("IncompleteSignatureException", "Authorization header requires 'Credential', "
                          "'Signature' and 'SignedHeaders' parameters.") from None  # fmt: skip
    timestamp = headers.first("x-amz-date") or ""
    if terminal != "aws4_request" or not timestamp:
        raise mismatch()
    return _Parts(access_key, date, region, service, signed, signature, timestamp, False)


def _query_parts(query: list[tuple[str, str]]) -> _Parts:
    from urllib.parse import unquote

    fields = {unquote(k): unquote(v) for k, v in query}
    try:
        access_key, date, region, service, _ = fields["X-Amz-Credential"].split("/")
        return _Parts(
            access_key,
            date,
            region,
            service,
            tuple(fields["X-Amz-SignedHeaders"].split(";")),
            fields["X-Amz-Signature"],
            fields["X-Amz-Date"],
            True,
            int(fields.get("X-Amz-Expires", "900")),
        )
    except (KeyError, ValueError):
        raise mismatch() from None


@functools.lru_cache(maxsize=1024)
def _epoch(stamp: str) -> int | None:
    """``20261206T182000Z`` as seconds since the epoch (None when malformed); a client's requests share few."""
    if len(stamp) != 16 or stamp[8] != "T" or stamp[15] != "Z":
        return None
    try:
        fields = (stamp[0:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15])
        return calendar.timegm((*(int(part) for part in fields), 0, 0, 0))
    except ValueError:
        return None


def _check_time(parts: _Parts, now: float) -> None:
    stamp = parts.timestamp
    signed_at = _epoch(stamp)
    if signed_at is None:
        raise mismatch()

    def fmt(t: float) -> str:
        return time.strftime(_TS, time.gmtime(t))

    if parts.presigned:
        if now > signed_at + min(parts.expires, MAX_PRESIGN_S):
            raise AuthFailure(
                "InvalidSignatureException",
                f"Signature expired: {stamp} is now earlier than {fmt(now - parts.expires)} "
                f"({fmt(now)} - {parts.expires} sec.)",
            )
        return
    if signed_at < now - SKEW_S:
        raise AuthFailure(
            "InvalidSignatureException",
            f"Signature expired: {stamp} is now earlier than {fmt(now - SKEW_S)} ({fmt(now)} - 5 min.)",
        )
    if signed_at > now + SKEW_S:
        raise AuthFailure(
            "InvalidSignatureException",
            f"Signature not yet current: {stamp} is still later than {fmt(now + SKEW_S)} ({fmt(now)} + 5 min.)",
        )


class Verifier:
    """Checks signatures for keys ``secret_for`` knows; derived signing keys are cached per scope."""

    def __init__(self, secret_for: SecretFor, clock: Callable[[], float] = time.time) -> None:
        self.secret_for = secret_for
        self.clock = clock
        self._keys: dict[tuple[str, str, str, str, str], bytes] = {}
        self._signers: dict[tuple[str, str, str, tuple[str, ...]], _Canonical] = {}

    def signing_key(self, secret: str, parts: _Parts) -> bytes:
        cache_key = (parts.access_key, secret, parts.date, parts.region, parts.service)
        key = self._keys.get(cache_key)
        if key is None:
            key = ("AWS4" + secret).encode()
            for step in (parts.date, parts.region, parts.service, "aws4_request"):
                key = hmac.new(key, step.encode(), hashlib.sha256).digest()
            if len(self._keys) > 4096:
                self._keys.clear()
            self._keys[cache_key] = key
        return key

    def signer(self, parts: _Parts) -> _Canonical:
        cache_key = (parts.access_key, parts.region, parts.service, parts.signed_headers)
        signer = self._signers.get(cache_key)
        if signer is None:
            if len(self._signers) > 4096:
                self._signers.clear()
            signer = self._signers[cache_key] = _Canonical(parts)
        return signer

    def verify(self, method: str, target: str, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> Signed:
        """``target``: the path and query as sent (still percent-encoded); headers as on the wire, names
        lower-case."""
        folded = _Headers()
        for raw_name, raw_value in headers:
            name = raw_name.decode("latin-1")
            values = dict.get(folded, name)
            if values is None:
                dict.__setitem__(folded, name, [raw_value.decode("latin-1")])
            else:
                values.append(raw_value.decode("latin-1"))
        authorization = folded.first("authorization") or ""
        query = target.partition("?")[2]
        if authorization.startswith(ALGORITHM + " "):
            parts = _header_parts(authorization, folded)
        elif "X-Amz-Signature=" in query:
            pairs = [pair.partition("=")[::2] for pair in query.split("&") if pair]
            parts = _query_parts(pairs)
            unsigned = "&".join(f"{k}={v}" for k, v in pairs if k != "X-Amz-Signature")
            target = target.partition("?")[0] + ("?" + unsigned if unsigned else "")
        elif authorization:
            raise AuthFailure("IncompleteSignatureException", f"Authorization header requires existence of "
                              f"either a 'X-Amz-Date' or a 'Date' header. Authorization={authorization}")  # fmt: skip
        else:
            raise missing()
        secret = self.secret_for(parts.access_key)
        if secret is None:
            raise unrecognized()
        _check_time(parts, self.clock())
        content_hash = folded.first("x-amz-content-sha256")
        hashed = content_hash is not None and not content_hash.startswith(_UNHASHED)
        if hashed and not hmac.compare_digest(content_hash or "", hashlib.sha256(body).hexdigest()):
            raise mismatch()
        request = _Request(method, "http://h" + target, folded, body, {"timestamp": parts.timestamp})
        signer = self.signer(parts)
        key = self.signing_key(secret, parts)
        if self._matches(signer, request, key, parts):
            return Signed(parts.access_key, parts.service, parts.region)
        if parts.presigned and content_hash is None:  # presigned S3 URLs stand for the body with UNSIGNED-PAYLOAD
            request.headers["x-amz-content-sha256"] = ["UNSIGNED-PAYLOAD"]
            if self._matches(signer, request, key, parts):
                return Signed(parts.access_key, parts.service, parts.region)
        raise mismatch()

    @staticmethod
    def _matches(signer: _Canonical, request: _Request, key: bytes, parts: _Parts) -> bool:
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = hmac.digest(key, string_to_sign.encode(), "sha256").hex()
        return hmac.compare_digest(expected, parts.signature)
