// An upstream OpenID provider for konnect's authority tests (node-oidc-provider).
//
// Usage: node provider.mjs PORT REDIRECT_URI JWK_FILE
//
// One confidential client, `konnect` (secret `upstream-secret`, client_secret_basic), that
// may use REDIRECT_URI and is sent back-channel logout tokens on the same origin. There is no
// login page: an interaction signs in the account named by login_hint (else jonas) and grants
// what was asked, so a test's browser goes straight back.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const [port, redirectUri, jwkFile] = process.argv.slice(2);
const jwk = JSON.parse(readFileSync(jwkFile, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;
const ACCOUNTS = {
  jonas: { preferred_username: 'jonas', name: 'Jonas at upstream' },
  brekke: { preferred_username: 'j.brekke@corp.example', name: 'J. Brekke' },
  stranger: { preferred_username: 'stranger', name: 'Not known at konnect' },
  outsider: {
    preferred_username: 'outsider',
    name: 'Olga Outsider',
    given_name: 'Olga',
    family_name: 'Outsider',
    email: 'olga@partner.example',
    email_verified: true,
    groups: ['partners', 'staff'],
  },
  // Its subject is the raw subject konnect's local user jonas has, and so is its name.
  1001: { preferred_username: 'jbrekke', name: 'Jonas Brekke' },
  twin: { preferred_username: 'twin', nickname: 'jonas', name: 'Someone else' },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'konnect',
      client_secret: 'upstream-secret',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: jwk.alg || 'RS256',
      backchannel_logout_uri: new URL('/signin/v1/identifier/oauth2/logout', redirectUri).href,
      backchannel_logout_session_required: true,
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: ['upstream-cookie-key-0123456789abcdef'] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name', 'nickname'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // The ID token carries the profile claims, as Entra ID and Keycloak do by default.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true } },
  // Back-channel logout goes to konnect on loopback, which the default fetch refuses.
  fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});

async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: details.params.login_hint || 'jonas' } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details.missingOIDCScope;
    if (missing) grant.addOIDCScope(missing.join(' '));
    result = { consent: { grantId: await grant.save() } };
  }
  const location = await provider.interactionResult(req, res, result, { mergeWithLastSubmission: true });
  res.writeHead(303, { Location: location });
  res.end();
}

provider.on('backchannel.error', (_ctx, error) => console.error(`back-channel logout: ${error}`));

const handler = provider.callback();
const server = createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    finishInteraction(req, res).catch((error) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    });
    return;
  }
  handler(req, res);
});
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
