"""Sign CDS Client test tokens for a local JWKS (ES384, as the CDS Hooks Sandbox signs).

    python scripts/test_token.py keygen --dir local-keys [--iss URL] [--fhir-server URL ...]
        writes local-keys/private-jwk.json (mode 600, never commit it), local-keys/jwks.json
        (public) and local-keys/trusted-issuers.json (for BENZO_CDS_TRUSTED_ISSUERS_FILE)
    python scripts/test_token.py sign --key local-keys/private-jwk.json --aud URL [--iss URL]
        prints one token: aud is the endpoint called, e.g.
        http://127.0.0.1:8000/cds-services/benzo-safety-patient-view

For local testing only: a real CDS Client signs with its own key and publishes its JWKS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey

DEFAULT_ISS = "https://local-test-client.invalid"
ALG = "ES384"


def keygen(directory: Path, iss: str, fhir_servers: list[str], kid: str | None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    key = ECKey.generate_key("P-384", {"kid": kid or str(uuid.uuid4()), "use": "sig", "alg": ALG})
    private = directory / "private-jwk.json"
    # Created owner-only from the start, so the private key is never readable by others.
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when an older, more open file was there
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(key.as_dict(private=True), handle)
    jwks = directory / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}, indent=2), encoding="utf-8")
    issuers = [{"iss": iss, "jwks_file": str(jwks.resolve()), "fhir_servers": fhir_servers}]
    (directory / "trusted-issuers.json").write_text(json.dumps(issuers, indent=2), encoding="utf-8")
    print(f"wrote {private} (keep it private), {jwks} and {directory / 'trusted-issuers.json'}")


def sign(key_file: Path, iss: str, aud: str, lifetime: int, jku: str | None) -> str:
    key = ECKey.import_key(json.loads(key_file.read_text(encoding="utf-8")))
    header = {"alg": ALG, "typ": "JWT", "kid": key.kid}
    if jku:
        header["jku"] = jku
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode(header, claims, key, algorithms=[ALG])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("keygen", help="make a P-384 key pair and a trusted-issuers file")
    gen.add_argument("--dir", type=Path, required=True)
    gen.add_argument("--iss", default=DEFAULT_ISS)
    gen.add_argument("--kid")
    gen.add_argument(
        "--fhir-server",
        action="append",
        default=[],
        help="a FHIR base URL this client may send (repeatable)",
    )
    tok = sub.add_parser("sign", help="print a signed ES384 CDS Client JWT")
    tok.add_argument("--key", type=Path, required=True)
    tok.add_argument("--aud", required=True, help="URL of the endpoint the token is for")
    tok.add_argument("--iss", default=DEFAULT_ISS)
    tok.add_argument("--lifetime", type=int, default=300, help="seconds (default 300)")
    tok.add_argument("--jku", help="a jku header to include (not needed with a jwks_file)")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        keygen(args.dir, args.iss, args.fhir_server, args.kid)
        return 0
    try:
        print(sign(args.key, args.iss, args.aud, args.lifetime, args.jku))
    except (OSError, ValueError) as error:
        print(f"error: cannot use {args.key}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
