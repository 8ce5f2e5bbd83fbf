"""The OpenID Provider: authorization, token, userinfo, discovery and JWKS endpoints,
client registration, end session and the logout channels.

Protocol rules live in plain modules: `authorize` (a package, one module per step), `pkce`,
`id_token_hint`, `grant_lifecycle` (single-use codes, refresh rotation, revocation, jti
replay), `guest`, `tokens`, `claims`, `scopes`, `userinfo`, `client_auth`, `registration`,
`endsession`, `logout_channels`; authlib runs the token endpoint's grants (`token_endpoint`);
back-channel logout runs in `background`; only `endpoints` and `responses` touch Starlette.
May import: config, crypto, keys, outgoing, clients, identity, state.
"""
