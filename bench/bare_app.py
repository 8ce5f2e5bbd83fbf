"""Baseline server: bare starlette JSON endpoints on konnect's stack.

uvicorn with uvloop and httptools, one worker, no middleware. It serves a discovery-like
document and a JWKS file, the upper bound for konnect's discovery and JWKS endpoints.

    python bench/bare_app.py --port 8080 --jwks public.jwks.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/konnect/v1/jwks.json"


def discovery_document(issuer: str) -> dict[str, Any]:
    """A discovery document of about the size and shape of konnect's."""
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/signin/v1/identifier/_/authorize",
        "token_endpoint": issuer + "/konnect/v1/token",
        "userinfo_endpoint": issuer + "/konnect/v1/userinfo",
        "end_session_endpoint": issuer + "/signin/v1/identifier/_/endsession",
        "check_session_iframe": issuer + "/konnect/v1/session/check-session.html",
        "jwks_uri": issuer + JWKS_PATH,
        "scopes_supported": ["openid", "offline_access", "profile", "email"],
        "response_types_supported": [
            "id_token token",
            "id_token",
            "code id_token",
            "code id_token token",
            "code",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "userinfo_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "request_object_signing_alg_values_supported": ["RS256", "PS256", "ES256", "none"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "claims_parameter_supported": True,
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "name",
            "family_name",
            "given_name",
            "email",
            "email_verified",
        ],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "code_challenge_methods_supported": ["S256"],
    }


def create_app(issuer: str, jwks: dict[str, Any]) -> Starlette:
    discovery = discovery_document(issuer)

    async def openid_configuration(request: Request) -> JSONResponse:
        return JSONResponse(discovery)

    async def jwks_json(request: Request) -> JSONResponse:
        return JSONResponse(jwks)

    return Starlette(
        routes=[
            Route(DISCOVERY_PATH, openid_configuration),
            Route(JWKS_PATH, jwks_json),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jwks", type=Path, required=True, help="JWKS JSON file to serve")
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    app = create_app(issuer, json.loads(args.jwks.read_text()))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
