// Sign-in web app: talks to the identifier JSON API below the path prefix.

const $ = (id) => document.getElementById(id);

const root = $('root');
let prefix = (root.dataset.pathPrefix || '').replace(/\/+$/, '');
if (prefix.startsWith('__')) prefix = '/signin/v1'; // page not served through the server
const apiBase = prefix + '/identifier/_/';
const CLIENT_FLOWS = ['oidc', 'oauth', 'consent'];

const TEXT = {
  unavailable: 'Sign-in is temporarily unavailable. Please try again in a moment.',
  tooMany: 'Too many attempts. Please wait a moment and try again.',
  generic: 'Something went wrong. Please try again.',
  offline: 'The server could not be reached. Check your connection and try again.',
  badLogin: 'The username or password is incorrect.',
  noUsername: 'Enter your username.',
  noPassword: 'Enter your password.',
  expired: 'That session is no longer active. Please sign in again.',
  signingIn: 'Signing in…',
  working: 'Please wait…',
  scopeBasic: 'Access your basic account information',
  scopeOffline: 'Keep access when you are not signed in',
};

// Current location, parsed: route after the prefix, flow, remaining query.
let ctx;

function readLocation() {
  const query = new URLSearchParams(location.search);
  const flow = query.get('flow') || '';
  query.delete('flow');
  let route = location.pathname;
  if (prefix && route.startsWith(prefix)) route = route.slice(prefix.length);
  route = route.replace(/\/+$/, '') || '/';
  ctx = { route, flow, query, prompt: query.get('prompt') || '' };
}

function go(route) {
  history.replaceState(null, '', prefix + route + location.search);
  ctx.route = route;
}

// --- API -------------------------------------------------------------------

class ApiError extends Error {}

function newState() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// Resolves {ok: true, data, state} for 200 and {ok: false, state} for 204,
// rejects with an ApiError carrying a user facing message otherwise.
async function api(op, payload) {
  const state = newState();
  let res;
  try {
    res = await fetch(apiBase + op, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Kopano-Konnect-XSRF': '1' },
      body: JSON.stringify({ state, ...payload }),
    });
  } catch {
    throw new ApiError(TEXT.offline);
  }
  switch (res.status) {
    case 200: {
      const data = await res.json().catch(() => null);
      if (data && data.state === state) return { ok: true, data, state };
      break;
    }
    case 204:
      if (res.headers.get('Kopano-Konnect-State') === state) return { ok: false, state };
      break;
    case 503:
      throw new ApiError(TEXT.unavailable);
    case 429:
      throw new ApiError(TEXT.tooMany);
    case 400: {
      const data = await res.json().catch(() => null);
      const text = data && data.error_description;
      if (typeof text === 'string' && text) throw new ApiError(text);
      break;
    }
  }
  throw new ApiError(TEXT.generic);
}

const messageOf = (err) => (err instanceof ApiError ? err.message : TEXT.generic);

const hasPrompt = (name) => ctx.prompt.split(/\s+/).includes(name);

function helloRequest() {
  const q = ctx.query;
  const r = {};
  if (ctx.flow) r.flow = ctx.flow;
  if (ctx.prompt) r.prompt = ctx.prompt;
  if (CLIENT_FLOWS.includes(ctx.flow)) {
    if (q.has('scope') || q.has('claims_scope')) {
      r.scope = [q.get('scope'), q.get('claims_scope')].filter(Boolean).join(' ');
    }
    for (const key of ['client_id', 'redirect_uri', 'id_token_hint', 'max_age']) {
      if (q.has(key)) r[key] = q.get(key);
    }
  }
  return r;
}

const logonHello = () => (ctx.flow ? helloRequest() : null);

// --- screens ---------------------------------------------------------------

const SCREENS = ['loading', 'signin', 'choose', 'consent', 'welcome', 'goodbye', 'signedout', 'failed'];
let current = null;

function show(name, focusEl) {
  for (const id of SCREENS) $(id).hidden = id !== name;
  current = $(name);
  setError('');
  if (name !== 'loading') (focusEl || current.querySelector('h1')).focus();
}

function setError(text) {
  const el = current && current.querySelector('.alert');
  if (el) el.textContent = text;
}

// Marks a request in flight: all given buttons disabled, the first one shows
// progress (a spinner, and `label` instead of its text unless label is null).
function setBusy(on, label, main, ...others) {
  for (const b of [main, ...others]) b.disabled = on;
  main.classList.toggle('busy', on);
  main.setAttribute('aria-busy', on ? 'true' : 'false');
  if (on && label !== null) {
    main.dataset.label = main.textContent;
    main.textContent = label;
  } else if (!on && main.dataset.label) {
    main.textContent = main.dataset.label;
    delete main.dataset.label;
  }
}

// Continue the flow with a hello response (or null).
function proceed(h, consentState) {
  if (h && h.next === 'consent' && !consentState) {
    showConsent(h);
    return true;
  }
  if (h && h.continue_uri) {
    const params = new URLSearchParams(ctx.query);
    params.set('prompt', 'none');
    if (consentState) params.set('konnect', consentState);
    const sep = h.continue_uri.includes('?') ? '&' : '?';
    location.replace(h.continue_uri + sep + params.toString());
    return false;
  }
  go('/welcome');
  routeWelcome();
  return true;
}

// Sign-in form.

const form = $('signin-form');
const username = $('username');
const password = $('password');
const signinButton = $('signin-button');
let busy = false;

function showSignin(error) {
  if (!username.value) username.value = ctx.query.get('login_hint') || '';
  password.value = '';
  show('signin', username.value ? password : username);
  if (error) setError(error);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (busy) return;
  const user = username.value.trim();
  if (!user) {
    setError(TEXT.noUsername);
    username.focus();
    return;
  }
  if (!password.value) {
    setError(TEXT.noPassword);
    password.focus();
    return;
  }
  busy = true;
  setError('');
  setBusy(true, TEXT.signingIn, signinButton);
  let stay = true;
  try {
    const res = await api('logon', { params: [user, password.value, '1'], hello: logonHello() });
    if (res.ok) {
      password.value = '';
      stay = proceed(res.data.hello || null);
    } else {
      password.value = '';
      setError(TEXT.badLogin);
      password.focus();
    }
  } catch (err) {
    setError(messageOf(err));
  } finally {
    if (stay) {
      busy = false;
      setBusy(false, '', signinButton);
    }
  }
});

// Account chooser.

let chosen = null;

function showChoose(h) {
  chosen = h;
  $('choose-name').textContent = h.displayName || h.username || '';
  $('choose-username').textContent = h.displayName ? h.username || '' : '';
  show('choose', $('choose-account'));
}

$('choose-account').addEventListener('click', async (event) => {
  const btn = event.currentTarget;
  if (!chosen || btn.disabled) return;
  setError('');
  setBusy(true, null, btn, $('choose-other'));
  let stay = true;
  try {
    const res = await api('logon', { params: [chosen.username || '', '', '0'], hello: logonHello() });
    if (res.ok) {
      stay = proceed(res.data.hello || null);
    } else {
      setBusy(false, '', btn, $('choose-other'));
      stay = false;
      showOther(TEXT.expired);
    }
  } catch (err) {
    setError(messageOf(err));
  } finally {
    if (stay) setBusy(false, '', btn, $('choose-other'));
  }
});

function showOther(error) {
  // Drop select_account so that requests made from here do not ask again.
  ctx.prompt = ctx.prompt.split(/\s+/).filter((p) => p && p !== 'select_account').join(' ');
  go('/identifier');
  username.value = '';
  showSignin(error);
}

$('choose-other').addEventListener('click', () => showOther());

// Consent.

let consentHello = null;

function scopeLabels(h) {
  const meta = (h.meta && h.meta.scopes) || {};
  const mapping = meta.mapping || {};
  const definitions = meta.definitions || {};
  const seen = new Map();
  for (const scope of requestedScopes(h)) {
    const alias = mapping[scope] || scope;
    if (seen.has(alias)) continue;
    const def = definitions[alias] || {};
    let label;
    if (def.id === 'scope_alias_basic') label = TEXT.scopeBasic;
    else if (def.id === 'scope_offline_access') label = TEXT.scopeOffline;
    else if (def.description) label = def.description;
    else label = 'Scope: ' + scope;
    seen.set(alias, { label, priority: Number(def.priority) || 0 });
  }
  return [...seen.values()].sort((a, b) => b.priority - a.priority).map((s) => s.label);
}

function requestedScopes(h) {
  return Object.keys(h.scopes || {}).filter((s) => h.scopes[s]);
}

function showConsent(h) {
  consentHello = h;
  const client = h.client || {};
  $('consent-client').textContent = client.display_name || client.id || ctx.query.get('client_id') || '';
  const list = $('consent-scopes');
  list.replaceChildren(...scopeLabels(h).map((text) => {
    const li = document.createElement('li');
    li.textContent = text;
    return li;
  }));
  const name = h.displayName || h.username;
  $('consent-user').textContent = name ? 'Signed in as ' + name : '';
  let host = '';
  try {
    host = new URL(client.redirect_uri || ctx.query.get('redirect_uri') || '').host;
  } catch {
    host = '';
  }
  $('consent-host').textContent = host ? 'You will be returned to ' + host : '';
  go('/consent');
  show('consent', $('consent-allow'));
}

async function sendConsent(allow, btn) {
  const h = consentHello;
  const other = allow ? $('consent-cancel') : $('consent-allow');
  if (!h || btn.disabled) return;
  setError('');
  setBusy(true, TEXT.working, btn, other);
  const q = ctx.query;
  try {
    const res = await api('consent', {
      allow,
      scope: requestedScopes(h).join(' '),
      client_id: q.get('client_id') || '',
      redirect_uri: q.get('redirect_uri') || '',
      ref: q.get('state') || '',
      flow_nonce: q.get('nonce') || '',
    });
    if (proceed(h, res.state)) setBusy(false, '', btn, other);
  } catch (err) {
    setError(messageOf(err));
    setBusy(false, '', btn, other);
  }
}

$('consent-allow').addEventListener('click', (e) => sendConsent(true, e.currentTarget));
$('consent-cancel').addEventListener('click', (e) => sendConsent(false, e.currentTarget));

// Welcome and sign out.

async function logoff(btn) {
  if (btn.disabled) return;
  setError('');
  setBusy(true, TEXT.working, btn);
  try {
    await api('logoff', {});
    setBusy(false, '', btn);
    go('/goodbye');
    show('signedout');
  } catch (err) {
    setError(messageOf(err));
    setBusy(false, '', btn);
  }
}

$('welcome-signout').addEventListener('click', (e) => logoff(e.currentTarget));
$('goodbye-signout').addEventListener('click', (e) => logoff(e.currentTarget));

// --- routes ----------------------------------------------------------------

async function routeIdentifier() {
  show('loading');
  let res;
  try {
    res = await api('hello', helloRequest());
  } catch (err) {
    showSignin(messageOf(err));
    return;
  }
  if (res.ok && !hasPrompt('select_account')) {
    proceed(res.data);
  } else if (res.ok) {
    showChoose(res.data);
  } else {
    showSignin();
  }
}

async function routeWelcome() {
  show('loading');
  try {
    const res = await api('hello', {});
    if (!res.ok) {
      go('/identifier');
      showSignin();
      return;
    }
    $('welcome-user').textContent = 'Signed in as ' + (res.data.displayName || res.data.username || '');
    show('welcome');
  } catch (err) {
    $('welcome-user').textContent = '';
    show('welcome');
    setError(messageOf(err));
  }
}

async function routeGoodbye() {
  show('loading');
  try {
    const res = await api('hello', {});
    show(res.ok ? 'goodbye' : 'signedout');
  } catch (err) {
    show('goodbye');
    setError(messageOf(err));
  }
}

function showFailed() {
  const q = ctx.query;
  $('failed-text').textContent = q.get('error_description') || 'Reason: ' + q.get('error');
  show('failed');
}

function start() {
  readLocation();
  if (ctx.query.has('error')) {
    showFailed();
    return;
  }
  switch (ctx.route) {
    case '/identifier':
    case '/chooseaccount':
    case '/consent':
      routeIdentifier();
      break;
    case '/welcome':
      routeWelcome();
      break;
    case '/goodbye':
      routeGoodbye();
      break;
    default:
      go('/identifier');
      routeIdentifier();
  }
}

// A service worker left behind by an earlier version of this app must not serve stale pages.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.ready.then((reg) => reg.unregister()).catch(() => {});
}

start();
