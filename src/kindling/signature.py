"""What a signed deployment package carries: shared by whoever signs it (``kindling sign``) and the server that
verifies it, so both read the same bytes the same way.

AWS keeps a package's signature beside it in S3; a zip uploaded to Kindling carries its own, as one entry
(``kindling-signature.json``) that names the signing profile version and holds the signature of the package's
manifest: every other entry's name and SHA-256, sorted by name. Changing, adding or removing a file changes
the manifest, so the signature no longer matches it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

SIGNATURE_FILE = "kindling-signature.json"


@dataclass(frozen=True)
class PackageSignature:
    profile_version_arn: str
    signature: bytes


def manifest(package: bytes) -> bytes:
    """The bytes a signature covers: ``name NUL sha256-hex LF`` for every entry but the signature, by name."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        lines = [
            f"{info.filename}\0{hashlib.sha256(archive.read(info)).hexdigest()}\n"
            for info in sorted(archive.infolist(), key=lambda i: i.filename)
            if info.filename != SIGNATURE_FILE
        ]
    return "".join(lines).encode()


def signature_of(package: bytes) -> PackageSignature | None:
    """The signature a package carries, or None (unsigned, or an entry that is not one)."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        if SIGNATURE_FILE not in archive.namelist():
            return None
        try:
            document = json.loads(archive.read(SIGNATURE_FILE))
            return PackageSignature(document["SigningProfileVersionArn"], base64.b64decode(document["Signature"]))
        except (ValueError, KeyError, TypeError):
            return None


def with_signature(package: bytes, signed: PackageSignature) -> bytes:
    """The package with ``signed`` as its signature entry (one it had before is replaced)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != SIGNATURE_FILE:
                target.writestr(info, source.read(info))
        document = {
            "SigningProfileVersionArn": signed.profile_version_arn,
            "Signature": base64.b64encode(signed.signature).decode(),
        }
        target.writestr(SIGNATURE_FILE, json.dumps(document, indent=2) + "\n")
    return out.getvalue()
