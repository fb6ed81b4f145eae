"""Code signing: configurations (Create/Get/Update/Delete/List), which function uses one, and the check of
every package deployed to such a function.

A signing profile is registered with its X.509 certificate (``PUT /kindling/signing-profiles/NAME``); its
version ARN is what a configuration's ``AllowedPublishers`` lists and what a signed package names. A package
is trusted when it carries a signature (``kindling.signature``) by an allowed profile whose certificate is valid
today and whose key verifies the package's manifest. Untrusted packages are refused under ``Enforce`` and
deployed with a warning in the server log under ``Warn``; a signature that does not match its package (the
code changed after signing) is refused under either policy, as on AWS.
"""

from __future__ import annotations

import builtins
import datetime
import hashlib
import logging
import secrets
import string
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ..errors import InvalidParameterValue, ResourceConflict, ResourceNotFound, UserError
from ..signature import manifest, signature_of
from ..store.signing import SigningStore
from .service import FunctionService
from .timestamps import timestamp

log = logging.getLogger("kindling.signing")
_ID_CHARACTERS = string.ascii_lowercase + string.digits


class CodeVerificationFailed(UserError):
    code = "CodeVerificationFailedException"
    message_key = "Message"


class InvalidCodeSignature(UserError):
    code = "InvalidCodeSignatureException"
    message_key = "Message"


class CodeSigningConfigNotFound(UserError):
    code = "CodeSigningConfigNotFoundException"
    status = 404
    message_key = "Message"


class CodeSigning:
    def __init__(self, functions: FunctionService, store: SigningStore) -> None:
        self.functions = functions
        self.store = store
        config = functions.config
        self._prefix = f"arn:aws:lambda:{config.region}:{config.account_id}:code-signing-config:"
        self._profile_prefix = f"arn:aws:signer:{config.region}:{config.account_id}:/signing-profiles/"

    # ------------------------------------------------------------ configurations
    def _id(self, arn: str) -> str:
        return arn.removeprefix(self._prefix)

    def get(self, arn: str) -> dict[str, Any]:
        found = self.store.config(self._id(arn)) if arn.startswith(self._prefix) else None
        if found is None:
            raise ResourceNotFound(f"The Lambda code signing configuration {arn} can not be found.")
        return found

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        config_id = "csc-" + "".join(secrets.choice(_ID_CHARACTERS) for _ in range(17))
        config = {
            "CodeSigningConfigId": config_id,
            "CodeSigningConfigArn": self._prefix + config_id,
            "Description": params.get("Description", ""),
            "AllowedPublishers": params["AllowedPublishers"],
            "CodeSigningPolicies": params.get("CodeSigningPolicies") or {"UntrustedArtifactOnDeployment": "Warn"},
            "LastModified": timestamp(),
        }
        self.store.save_config(config_id, config)
        return config

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        config = self.get(params["CodeSigningConfigArn"])
        changes: dict[str, Any] = {
            k: params[k] for k in ("Description", "AllowedPublishers", "CodeSigningPolicies") if k in params
        }
        if changes:
            config = {**config, **changes, "LastModified": timestamp()}
            self.store.save_config(config["CodeSigningConfigId"], config)
        return config

    def delete(self, arn: str) -> None:
        config = self.get(arn)
        users = self.store.functions_using(config["CodeSigningConfigId"])
        if users:
            raise ResourceConflict(
                f"The code signing configuration {arn} cannot be deleted while functions use it: {', '.join(users)}."
            )
        self.store.delete_config(config["CodeSigningConfigId"])

    def list(self) -> list[dict[str, Any]]:
        return self.store.configs()

    def functions_using(self, arn: str) -> builtins.list[str]:
        config = self.get(arn)
        return [self.functions.arn(name) for name in self.store.functions_using(config["CodeSigningConfigId"])]

    # ----------------------------------------------------------------- functions
    def _existing(self, arn: str) -> dict[str, Any]:
        """A configuration a function is given, missing in the words AWS uses for that case."""
        try:
            return self.get(arn)
        except ResourceNotFound:
            raise CodeSigningConfigNotFound(
                f"The code signing configuration cannot be found. Check that the provided configuration is not "
                f"deleted: {arn}."
            ) from None

    def put_function(self, name_or_arn: str, arn: str) -> dict[str, str]:
        config = self._existing(arn)
        name = self.functions.resolve(name_or_arn).latest.name
        self.store.attach(name, config["CodeSigningConfigId"])
        return {"CodeSigningConfigArn": arn, "FunctionName": name}

    def get_function(self, name_or_arn: str) -> dict[str, str]:
        name = self.functions.resolve(name_or_arn).latest.name
        config_id = self.store.config_of(name)
        return {} if config_id is None else {"CodeSigningConfigArn": self._prefix + config_id, "FunctionName": name}

    def delete_function(self, name_or_arn: str) -> None:
        self.store.attach(self.functions.resolve(name_or_arn).latest.name, None)

    # ------------------------------------------------------------------ profiles
    def register_profile(self, name: str, pem: bytes) -> dict[str, str]:
        """A signing profile's certificate; its version is derived from the certificate, so a new one is a new
        version (packages signed with the old key are no longer trusted)."""
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise InvalidParameterValue("The body must be one X.509 certificate in PEM form.") from None
        if not isinstance(certificate.public_key(), ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise InvalidParameterValue("The certificate's key must be an ECDSA or RSA key.")
        version = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()[:10]
        self.store.save_profile(name, version, pem.decode())
        return self._profile(name, version)

    def _profile(self, name: str, version: str) -> dict[str, str]:
        arn = f"{self._profile_prefix}{name}"
        return {
            "ProfileName": name,
            "ProfileVersion": version,
            "ProfileArn": arn,
            "ProfileVersionArn": f"{arn}/{version}",
        }

    def profiles(self) -> builtins.list[dict[str, str]]:
        return [self._profile(name, version) for name, version, _ in self.store.profiles()]

    # ------------------------------------------------------------ verification
    def check(self, function: str, config_arn: str | None, package: bytes) -> None:
        """Refuse ``package`` for ``function`` when its configuration (the one given, or the function's own)
        does not trust it; called before the package is stored."""
        if config_arn is not None:
            config = self._existing(config_arn)
        else:
            config_id = self.store.config_of(function)
            if config_id is None:
                return
            config = self.get(self._prefix + config_id)
        function_arn = self.functions.arn(function)
        problem = self._untrusted(config, package, function_arn)
        if problem is None:
            return
        if config["CodeSigningPolicies"].get("UntrustedArtifactOnDeployment") == "Enforce":
            raise CodeVerificationFailed(
                "Lambda cannot deploy the function. The function or layer might be signed using a signature that "
                f"the client is not configured to accept. Check the provided signature for {function_arn}."
            )
        log.warning("untrusted package deployed to %s (code signing policy Warn): %s", function_arn, problem)

    def attach(self, function: str, config_arn: str) -> None:
        self.store.attach(function, self._existing(config_arn)["CodeSigningConfigId"])

    def _untrusted(self, config: dict[str, Any], package: bytes, function_arn: str) -> str | None:
        """Why ``package`` is not trusted under ``config`` (None when it is); raises when its signature does not
        match the package, which no policy lets through."""
        signed = signature_of(package)
        if signed is None:
            return "the package is not signed"
        if signed.profile_version_arn not in config["AllowedPublishers"]["SigningProfileVersionArns"]:
            return f"{signed.profile_version_arn} is not an allowed publisher"
        certificates = {f"{self._profile_prefix}{n}/{v}": pem for n, v, pem in self.store.profiles()}
        pem = certificates.get(signed.profile_version_arn)
        if pem is None:
            return f"no signing profile {signed.profile_version_arn} is registered"
        certificate = x509.load_pem_x509_certificate(pem.encode())
        now = datetime.datetime.now(datetime.UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            return f"the certificate of {signed.profile_version_arn} is not valid now"
        key = certificate.public_key()
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signed.signature, manifest(package), padding.PKCS1v15(), hashes.SHA384())
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signed.signature, manifest(package), ec.ECDSA(hashes.SHA384()))
        except InvalidSignature:
            raise InvalidCodeSignature(
                "Lambda cannot deploy the function. The code signature failed the integrity check: the package "
                f"changed after it was signed. Check the provided signature for {function_arn}."
            ) from None
        return None
