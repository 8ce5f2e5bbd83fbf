// node-oidc-provider baseline for the konnect benchmark.
//
// Usage: node provider.mjs PORT JWK_FILE ALG
//
// One confidential client (bench-client / bench-secret, client_secret_basic) and one account
// (jonas). The in-memory adapter keeps codes, sessions and tokens; access tokens are opaque,
// except client_credentials tokens, which are signed JWTs as konnect's are.
// Interactions are not a login UI: /interaction/:uid signs the bench account in and grants the
// requested scopes at once (a trusted client), so the benchmark can obtain a session and a refresh token. The
// password check of a real login page is therefore not part of this baseline.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const [port, jwkFile, alg] = process.argv.slice(2);
const jwk = JSON.parse(readFileSync(jwkFile, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;
const ACCOUNT = 'jonas';
const API = 'urn:konnect-bench:api';
const CLAIMS = {
  sub: ACCOUNT,
  name: 'Jonas Brekke',
  given_name: 'Jonas',
  family_name: 'Brekke',
  email: 'jonas@example.com',
  email_verified: true,
};

// konnect lets a trusted client with a session through without interaction (prompt=none
// works); node-oidc-provider asks every native client to interact unless told otherwise.
const policy = interactionPolicy.base();
policy.get('consent').checks.remove('native_client_prompt');

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-client',
      client_secret: 'bench-secret',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1:9/cb'],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // client_credentials tokens are JWTs signed with the same key and alg, like konnect's, so
    // that row compares the same work; other access tokens stay opaque (userinfo needs them).
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx) =>
        ctx.oidc.params?.grant_type === 'client_credentials' ? API : undefined,
      getResourceServerInfo: () => ({ scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg } } }),
      useGrantedResource: () => false,
    },
  },
  interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    if (id !== ACCOUNT) return undefined;
    return { accountId: id, claims: async () => ({ ...CLAIMS }) };
  },
});

async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: ACCOUNT } };
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
server.keepAliveTimeout = 65000;
server.listen(Number(port), '127.0.0.1');
