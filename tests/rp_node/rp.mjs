// A relying party built on openid-client with its strict defaults, driven by the tests.
//
// Usage: node rp.mjs ISSUER FLOW   (FLOW: code | hybrid | logout)
// Talks JSON lines: prints {"browse": url} and reads back the URL the browser ended on;
// prints {"done": {...}} with what it verified, or {"error": "..."} and exits 1.
import * as readline from 'node:readline'
import * as client from 'openid-client'

const CLIENT_ID = 'trusted-app'
const CLIENT_SECRET = 'trusted-secret'
const REDIRECT_URI = 'http://127.0.0.1:9999/cb'
const SCOPE = 'openid profile email offline_access'

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n')
}

async function browse(url) {
  send({ browse: url.href })
  const { value, done } = await lines.next()
  if (done) throw new Error('the test closed the browser channel')
  return new URL(value.trim())
}

async function configure(issuer, auth) {
  // Plain http on loopback is the only relaxation; every other check stays on.
  return client.discovery(new URL(issuer), CLIENT_ID, { client_secret: CLIENT_SECRET }, auth, {
    execute: [client.allowInsecureRequests],
  })
}

async function signInWithCode(config, extra = {}) {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  })
  const callback = await browse(url)
  return client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  })
}

async function useTokens(config, tokens) {
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  const again = await client.fetchUserInfo(config, refreshed.access_token, claims.sub)
  return {
    sub: claims.sub,
    name: claims.name,
    userinfo,
    refreshed_userinfo_sub: again.sub,
    refreshed_has_new_access_token: refreshed.access_token !== tokens.access_token,
    refreshed_id_token_sub: refreshed.id_token ? refreshed.claims().sub : null,
  }
}

async function codeFlow(issuer) {
  const config = await configure(issuer, client.ClientSecretBasic(CLIENT_SECRET))
  return useTokens(config, await signInWithCode(config))
}

async function hybridFlow(issuer) {
  const config = await configure(issuer, client.ClientSecretPost(CLIENT_SECRET))
  client.useCodeIdTokenResponseType(config)
  return useTokens(config, await signInWithCode(config))
}

async function logoutFlow(issuer) {
  const config = await configure(issuer, client.ClientSecretBasic(CLIENT_SECRET))
  const tokens = await signInWithCode(config)
  const state = client.randomState()
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: REDIRECT_URI,
    state,
  })
  const landed = await browse(url)
  if (landed.origin + landed.pathname !== REDIRECT_URI) {
    throw new Error(`logout returned to ${landed.href}`)
  }
  if (landed.searchParams.get('state') !== state) {
    throw new Error('logout returned without the state')
  }
  return { sub: tokens.claims().sub, returned_to: landed.href.replace(state, 'STATE') }
}

const flows = { code: codeFlow, hybrid: hybridFlow, logout: logoutFlow }

const [issuer, flow] = process.argv.slice(2)
try {
  if (!flows[flow]) throw new Error(`unknown flow ${flow}`)
  send({ done: await flows[flow](issuer) })
  process.exit(0)
} catch (error) {
  send({ error: `${error.name}: ${error.message}`, code: error.code ?? null, cause: String(error.cause ?? '') })
  process.exit(1)
}
