"""``kindling sign PACKAGE.zip``: sign a deployment package with a signing profile's private key, for functions
whose code signing configuration only trusts signed code (see README, "Code signing")."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ..signature import PackageSignature, manifest, with_signature
from .common import CliError, out


@click.command()
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the signing profile's private key (PEM, ECDSA or RSA)",
)
@click.option(
    "--profile",
    "profile_version_arn",
    required=True,
    help="the profile version ARN that PUT /kindling/signing-profiles/NAME answered",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="where the signed package goes (default: PACKAGE itself)")  # fmt: skip
def sign(package: Path, key_file: Path, profile_version_arn: str, output: Path | None) -> None:
    """Add a signature of PACKAGE's files to it, as a kindling-signature.json entry."""
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise CliError(
            f"{key_file} is not an unencrypted PEM private key ({error})", "export it without a password"
        ) from None
    data = package.read_bytes()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(manifest(data), ec.ECDSA(hashes.SHA384()))
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(manifest(data), padding.PKCS1v15(), hashes.SHA384())
    else:
        raise CliError(f"{key_file} holds neither an ECDSA nor an RSA key", "make the profile's key with one of them")
    target = output or package
    target.write_bytes(with_signature(data, PackageSignature(profile_version_arn, signature)))
    out.print(f"signed {target} with {profile_version_arn}", markup=False)
