"""The OpenID Provider: authorization, token, userinfo, discovery and JWKS endpoints.

Protocol rules live in plain modules (`authorize`, `tokens`, `claims`, `scopes`, `userinfo`);
authlib runs the token endpoint's grants (`token_endpoint`); only `endpoints` and `responses`
touch Starlette. May import: config, crypto, keys, clients, identity, state.
"""
