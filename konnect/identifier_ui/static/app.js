// Sign-in web app: a few screens over the identifier API (hello, logon, logoff, consent, the
// second factor: mfa, mfa/enrol, mfa/webauthn, mfa/enrol/webauthn, passkey sign-in, and the
// security page's security/*).
// Every text comes from the message catalogue the server embeds (static/i18n/<lang>.json).

const $ = (id) => document.getElementById(id);

const root = $('root');
const config = readConfig();
let prefix = (root.dataset.pathPrefix || '').replace(/\/+$/, '');
if (prefix.startsWith('__')) prefix = '/signin/v1'; // page not served through the server
const apiBase = prefix + '/identifier/_/';
const CLIENT_FLOWS = ['oidc', 'oauth', 'consent'];
const LANG_COOKIE = 'konnect-lang';

function readConfig() {
  try {
    return JSON.parse($('konnect-config').textContent) || {};
  } catch {
    return {};
  }
}

// --- messages --------------------------------------------------------------------------

let lang = config.lang || 'en';
let messages = config.messages || {};
const catalogs = new Map([[lang, messages]]);

function t(key, vars) {
  const text = typeof messages[key] === 'string' ? messages[key] : key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// Puts a message into an element; a variable may be a DOM node (e.g. a <strong> name).
function fill(el, key, vars = {}) {
  const parts = t(key).split(/(\{\w+\})/).filter(Boolean);
  el.replaceChildren(...parts.map((part) => {
    const match = /^\{(\w+)\}$/.exec(part);
    if (!match || !(match[1] in vars)) return document.createTextNode(part);
    const value = vars[match[1]];
    return value instanceof Node ? value : document.createTextNode(String(value));
  }));
}

function strong(text) {
  const el = document.createElement('strong');
  el.textContent = text;
  return el;
}

function translatePage() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  }
}

function setupLanguages() {
  const select = $('language');
  const names = config.languages || {};
  const codes = Object.keys(names);
  if (codes.length < 2) {
    select.closest('footer').hidden = true;
    return;
  }
  select.replaceChildren(...codes.map((code) => {
    const option = new Option(names[code], code, false, code === lang);
    option.lang = code;
    return option;
  }));
  select.addEventListener('change', () => switchLanguage(select.value));
}

async function switchLanguage(code) {
  let next = catalogs.get(code);
  if (!next) {
    try {
      const res = await fetch((config.catalogs || {})[code], { credentials: 'same-origin' });
      if (!res.ok) throw new Error(String(res.status));
      next = await res.json();
    } catch {
      $('language').value = lang;
      setError('error.offline');
      return;
    }
    catalogs.set(code, next);
  }
  lang = code;
  messages = next;
  document.documentElement.lang = code;
  const secure = location.protocol === 'https:' ? '; secure' : '';
  document.cookie = `${LANG_COOKIE}=${code}; path=${prefix || '/'}; max-age=31536000; samesite=lax${secure}`;
  render();
}

// --- location --------------------------------------------------------------------------

// The current location, parsed: route after the prefix, flow, the rest of the query.
let ctx;

function readLocation() {
  const query = new URLSearchParams(location.search);
  const flow = query.get('flow') || '';
  query.delete('flow');
  let route = location.pathname;
  if (prefix && route.startsWith(prefix)) route = route.slice(prefix.length);
  route = route.replace(/\/+$/, '') || '/';
  ctx = { route, flow, query, prompt: query.get('prompt') || '', mfaInvite: readMfaInvite() };
}

// An administrator's invitation to set up a second factor travels in the link's fragment
// (never sent to a server in a URL); it goes with the password and leaves the address bar.
function readMfaInvite() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const invite = fragment.get('mfa_invite') || '';
  if (invite) history.replaceState(null, '', location.pathname + location.search);
  return invite;
}

function go(route) {
  history.replaceState(null, '', prefix + route + location.search);
  ctx.route = route;
}

const hasPrompt = (name) => ctx.prompt.split(/\s+/).includes(name);

// --- API -------------------------------------------------------------------------------

class ApiError extends Error {
  // `key` names the message to show; a fatal error ends the sign-in (error screen).
  constructor(key, fatal = false, code = '', detail = '') {
    super(key);
    this.key = key;
    this.fatal = fatal;
    this.code = code;
    this.detail = detail;
  }
}

function newState() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// Resolves {ok: true, data, state} for 200 and {ok: false, state} for 204; rejects with
// an ApiError otherwise. The random state must come back, or the answer is not ours.
async function api(op, payload) {
  const state = newState();
  let res;
  try {
    res = await fetch(apiBase + op, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', 'Kopano-Konnect-XSRF': '1' },
      body: JSON.stringify({ state, ...payload }),
    });
  } catch {
    throw new ApiError('error.offline');
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
      throw new ApiError('error.unavailable');
    case 429:
      throw new ApiError('error.tooMany');
    case 400: {
      const data = (await res.json().catch(() => null)) || {};
      throw new ApiError('failed.text', true, String(data.error || ''), String(data.error_description || ''));
    }
  }
  throw new ApiError('error.generic');
}

function requestFields() {
  const q = ctx.query;
  const r = {};
  if (ctx.flow) r.flow = ctx.flow;
  if (ctx.prompt) r.prompt = ctx.prompt;
  if (CLIENT_FLOWS.includes(ctx.flow)) {
    if (q.has('scope') || q.has('claims_scope')) {
      r.scope = [q.get('scope'), q.get('claims_scope')].filter(Boolean).join(' ');
    }
    for (const key of ['client_id', 'redirect_uri', 'id_token_hint', 'max_age', 'claims']) {
      if (q.has(key)) r[key] = q.get(key);
    }
  }
  return r;
}

const logonHello = () => (ctx.flow ? requestFields() : null);

// --- screens ---------------------------------------------------------------------------

const SCREENS = [
  'loading', 'signin', 'mfa', 'enrol', 'codes', 'security', 'choose', 'consent', 'welcome', 'goodbye',
  'signedout', 'failed', 'invite', 'join', 'joinfailed',
];
const TITLES = { loading: 'app.title', consent: 'consent.windowTitle' };
let screen = null;
let draw = null; // fills the current screen's texts that depend on data
let alertKey = null;
let alertVars = null;

function show(name, { paint = null, focus = null } = {}) {
  if (name !== 'signin') stopAutofill();
  for (const id of SCREENS) $(id).hidden = id !== name;
  root.dataset.screen = name;
  screen = name;
  draw = paint;
  alertKey = null;
  render();
  if (name !== 'loading') (focus || $(name).querySelector('h1')).focus();
}

function render() {
  translatePage();
  if (draw) draw();
  const key = TITLES[screen] || `${screen}.title`;
  document.title = config.product ? `${t(key)} · ${config.product}` : t(key);
  paintAlert();
}

function setError(key, vars = null) {
  alertKey = key;
  alertVars = vars;
  paintAlert();
}

function paintAlert() {
  const el = screen && $(screen).querySelector('.alert');
  if (el) el.textContent = alertKey ? t(alertKey, alertVars) : '';
}

function announce(key) {
  $('status').textContent = key ? t(key) : '';
}

function handleError(err) {
  if (err instanceof ApiError && err.fatal) showFailed(err.code, err.detail);
  else setError(err instanceof ApiError ? err.key : 'error.generic');
}

const isBusy = (button) => button.getAttribute('aria-disabled') === 'true';

// Marks a request in flight: the buttons refuse clicks (they keep focus, unlike disabled
// ones), the first shows a spinner and, given a message key, a different label.
function setBusy(on, labelKey, main, ...others) {
  for (const button of [main, ...others]) button.setAttribute('aria-disabled', String(on));
  main.classList.toggle('busy', on);
  if (on && labelKey) {
    main.dataset.idle = main.dataset.i18n;
    main.dataset.i18n = labelKey;
    main.textContent = t(labelKey);
  } else if (!on && main.dataset.idle) {
    main.dataset.i18n = main.dataset.idle;
    delete main.dataset.idle;
    main.textContent = t(main.dataset.i18n);
  }
  announce(on ? labelKey || 'app.working' : null);
}

function initials(name) {
  const words = String(name || '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const first = [...words[0]][0];
  const last = words.length > 1 ? [...words[words.length - 1]][0] : '';
  return (first + last).toUpperCase();
}

function paintAvatars(section, user) {
  for (const el of $(section).querySelectorAll('.avatar:not(.add)')) {
    el.textContent = initials(user.displayName || user.username);
  }
}

function safeUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

// Schemes that would run script or show local data here instead of opening an app.
const UNSAFE_SCHEMES = ['javascript:', 'data:', 'vbscript:', 'blob:', 'file:', 'filesystem:', 'about:', 'view-source:'];

// Where the server says to continue: this site, or (after a sign-out) the application's own
// http(s) page or app scheme; never a script. Returns the URL string or null.
function continueUrl(text, sameOrigin) {
  if (typeof text !== 'string' || !text) return null;
  let url;
  try {
    url = new URL(text, location.href);
  } catch {
    return null;
  }
  if (sameOrigin) return url.origin === location.origin ? url.href : null;
  return UNSAFE_SCHEMES.includes(url.protocol) ? null : url.href;
}

// Continue the flow with a hello response (or null). Returns whether the page stays.
function proceed(h, consentState) {
  if (h && h.mfa) {
    if (h.mfa.enrol) showEnrol(h);
    else showSecondFactor(h);
    return true;
  }
  if (h && h.next === 'consent' && !consentState) {
    showConsent(h);
    return true;
  }
  const target = h && h.continue_uri ? continueUrl(h.continue_uri, true) : null;
  if (target) {
    const params = new URLSearchParams(ctx.query);
    params.set('prompt', 'none');
    if (consentState) params.set('konnect', consentState);
    const sep = target.includes('?') ? '&' : '?';
    location.replace(target + sep + params.toString());
    return false;
  }
  if (ctx.route === SECURITY_ROUTE) {
    routeSecurity();
    return true;
  }
  const next = ctx.query.get('continue');
  if (!ctx.flow && next && next.startsWith(location.origin + '/')) {
    location.replace(next);
    return false;
  }
  go('/welcome');
  routeWelcome();
  return true;
}

// Sign in.

const form = $('signin-form');
const username = $('username');
const password = $('password');
const signinButton = $('signin-button');
const toggle = $('password-toggle');

function showSignin(errorKey) {
  if (!username.value) username.value = ctx.query.get('login_hint') || '';
  password.value = '';
  showPassword(false);
  const subtitle = $('signin-subtitle');
  show('signin', {
    paint: () => {
      subtitle.hidden = !config.product;
      if (config.product) fill(subtitle, 'signin.subtitle', { product: config.product });
      paintAuthorities();
    },
    focus: username.value ? password : username,
  });
  if (errorKey) setError(errorKey);
  startAutofill();
}

// A button per upstream identity provider; each starts the same sign-in there.
function paintAuthorities() {
  const list = config.authorities || [];
  $('passkey-button').hidden = !passkeysOffered();
  $('authorities').hidden = list.length === 0 && !passkeysOffered();
  $('authority-list').replaceChildren(...list.map((authority) => {
    const params = new URLSearchParams(location.search);
    params.set('authority', authority.id);
    const link = document.createElement('a');
    link.className = 'button secondary';
    link.href = `${prefix}/identifier/oauth2/start?${params}`;
    fill(link, 'signin.with', { name: authority.name });
    const item = document.createElement('li');
    item.append(link);
    return item;
  }));
}

function markInvalid(input, key) {
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', 'signin-alert');
  setError(key);
  input.focus();
}

function clearInvalid() {
  for (const input of [username, password]) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
}

function showPassword(visible) {
  password.type = visible ? 'text' : 'password';
  toggle.dataset.i18n = visible ? 'signin.hide' : 'signin.show';
  toggle.dataset.i18nLabel = visible ? 'signin.hidePassword' : 'signin.showPassword';
  translatePage();
}

toggle.addEventListener('click', () => showPassword(password.type === 'password'));

function capsLock(event) {
  const on = event.getModifierState && event.getModifierState('CapsLock');
  $('capslock').textContent = on ? t('signin.capsLock') : '';
}

password.addEventListener('keydown', capsLock);
password.addEventListener('keyup', capsLock);
password.addEventListener('blur', () => { $('capslock').textContent = ''; });
for (const input of [username, password]) {
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (isBusy(signinButton)) return;
  clearInvalid();
  const user = username.value.trim();
  if (!user) return markInvalid(username, 'signin.missingUsername');
  if (!password.value) return markInvalid(password, 'signin.missingPassword');
  setError(null);
  showPassword(false);
  setBusy(true, 'signin.submitting', signinButton);
  username.readOnly = password.readOnly = true;
  let stay = true;
  try {
    const res = await api('logon', {
      params: [user, password.value, '1'],
      hello: logonHello(),
      ...(ctx.mfaInvite ? { mfa_invite: ctx.mfaInvite } : {}),
    });
    if (res.ok) {
      password.value = '';
      stay = proceed(res.data.hello || null);
    } else {
      password.value = '';
      markInvalid(password, 'signin.failed');
    }
  } catch (err) {
    handleError(err);
    if (screen === 'signin') password.focus();
  } finally {
    if (stay) {
      username.readOnly = password.readOnly = false;
      setBusy(false, null, signinButton);
    }
  }
});

// WebAuthn: the browser's credentials as JSON (base64url) and back.

const webauthnMethods = () => config.mfaMethods || [];
// Browsers refuse WebAuthn on an IP address (http://127.0.0.1): no passkeys offered there.
const onIpAddress = /^(\d+\.\d+\.\d+\.\d+|\[.*\])$/.test(location.hostname);
const passkeysOffered = () => (
  webauthnMethods().includes('webauthn') && !!window.PublicKeyCredential && !onIpAddress
);

function fromB64u(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
}

function toB64u(buffer) {
  let text = '';
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const withIds = (list) => (list || []).map((item) => ({ ...item, id: fromB64u(item.id) }));

function creationOptions(o) {
  return {
    ...o,
    challenge: fromB64u(o.challenge),
    user: { ...o.user, id: fromB64u(o.user.id) },
    excludeCredentials: withIds(o.excludeCredentials),
  };
}

function requestOptions(o) {
  return { ...o, challenge: fromB64u(o.challenge), allowCredentials: withIds(o.allowCredentials) };
}

function credentialJson(credential) {
  const r = credential.response;
  const response = { clientDataJSON: toB64u(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64u(r.attestationObject);
    if (r.getTransports) response.transports = r.getTransports();
  } else {
    response.authenticatorData = toB64u(r.authenticatorData);
    response.signature = toB64u(r.signature);
    if (r.userHandle) response.userHandle = toB64u(r.userHandle);
  }
  return { id: credential.id, rawId: toB64u(credential.rawId), type: credential.type, response };
}

// The browser's part of a ceremony begun by the server: the credential as JSON, or null
// when the user or the authenticator cancelled.
async function browserCredential(kind, options) {
  try {
    const credential = kind === 'create'
      ? await navigator.credentials.create({ publicKey: creationOptions(options) })
      : await navigator.credentials.get({ publicKey: requestOptions(options) });
    return credentialJson(credential);
  } catch {
    return null;
  }
}

// A passkey instead of the password: the button, or the browser's autofill on the user name.

let autofill = null; // the AbortController of a pending conditional request

function stopAutofill() {
  if (autofill) autofill.abort();
  autofill = null;
}

async function startAutofill() {
  if (!passkeysOffered() || autofill) return;
  const available = PublicKeyCredential.isConditionalMediationAvailable;
  if (!available || !(await available.call(PublicKeyCredential).catch(() => false))) return;
  if (screen !== 'signin' || autofill) return;
  username.autocomplete = 'username webauthn';
  const controller = new AbortController();
  autofill = controller;
  try {
    const begun = await api('passkey', { step: 'begin' });
    if (!begun.ok || !begun.data.success || controller.signal.aborted) return;
    const credential = await navigator.credentials.get({
      publicKey: requestOptions(begun.data.options),
      mediation: 'conditional',
      signal: controller.signal,
    });
    if (autofill === controller) autofill = null;
    await finishPasskey(credential);
    if (screen === 'signin') startAutofill(); // refused: offer the passkeys again
  } catch {
    // Aborted, dismissed or not possible here: the password form stays.
  } finally {
    if (autofill === controller) autofill = null;
  }
}

async function finishPasskey(credential) {
  setBusy(true, 'signin.submitting', signinButton, $('passkey-button'));
  let stay = true;
  try {
    const res = await api('passkey', {
      step: 'finish', credential: credentialJson(credential), hello: logonHello(),
    });
    if (res.ok && res.data.success) stay = proceed(res.data.hello || null);
    else setError('signin.passkeyFailed');
  } catch (err) {
    handleError(err);
  } finally {
    if (stay) setBusy(false, null, signinButton, $('passkey-button'));
  }
}

$('passkey-button').addEventListener('click', async () => {
  if (isBusy($('passkey-button'))) return;
  stopAutofill();
  setError(null);
  let credential;
  try {
    const begun = await api('passkey', { step: 'begin' });
    if (!begun.ok || !begun.data.success) throw new ApiError('error.generic');
    credential = await navigator.credentials.get({ publicKey: requestOptions(begun.data.options) });
  } catch (err) {
    if (err instanceof ApiError) handleError(err);
    else setError('webauthn.cancelled');
    startAutofill();
    return;
  }
  await finishPasskey(credential);
  if (screen === 'signin') startAutofill();
});

// The second factor: a security key, a code of the authenticator app, or a recovery code.

const mfaForm = $('mfa-form');
const mfaCode = $('mfa-code');
const mfaButton = $('mfa-button');
const mfaSwitch = $('mfa-switch');
const mfaKey = $('mfa-key');
const MFA_ERRORS = {
  wrong: 'mfa.wrong', burned: 'mfa.burned', expired: 'mfa.expired', locked: 'mfa.locked',
};
let mfaUser = null;
let mfaMethod = 'totp';
const INTRO = { webauthn: 'mfa.introWebauthn', totp: 'mfa.introTotp', recovery: 'mfa.introRecovery' };
const USE = { webauthn: 'mfa.useWebauthn', totp: 'mfa.useTotp', recovery: 'mfa.useRecovery' };

// The methods the user can answer with here (a security key only where the browser can).
function secondFactorMethods() {
  const methods = mfaUser ? mfaUser.mfa.methods : [];
  return methods.filter((method) => method !== 'webauthn' || passkeysOffered());
}

// The method the switch offers next.
function nextMethod() {
  const methods = secondFactorMethods();
  return methods[(methods.indexOf(mfaMethod) + 1) % methods.length] || mfaMethod;
}

function paintSecondFactor() {
  const key = mfaMethod === 'webauthn';
  fill($('mfa-intro'), INTRO[mfaMethod]);
  fill($('mfa-label'), mfaMethod === 'totp' ? 'mfa.code' : 'mfa.recoveryCode');
  fill(mfaSwitch, USE[nextMethod()]);
  mfaForm.hidden = key;
  mfaKey.hidden = !key;
  mfaSwitch.hidden = secondFactorMethods().length < 2;
  mfaCode.inputMode = mfaMethod === 'totp' ? 'numeric' : 'text';
  mfaCode.autocomplete = mfaMethod === 'totp' ? 'one-time-code' : 'off';
  paintUser($('mfa-user'), mfaUser);
}

// The user a second factor is asked for, as a name (and user name when it differs).
function paintUser(el, user) {
  const name = user.displayName || user.username || '';
  const parts = [strong(name)];
  if (user.username && user.username !== name) parts.push(document.createTextNode(` (${user.username})`));
  el.replaceChildren(...parts);
}

function showSecondFactor(h) {
  mfaUser = h;
  const methods = secondFactorMethods();
  if (!methods.includes(mfaMethod)) mfaMethod = methods[0] || 'totp';
  mfaCode.value = '';
  mfaCode.removeAttribute('aria-invalid');
  show('mfa', { paint: paintSecondFactor, focus: mfaMethod === 'webauthn' ? mfaKey : mfaCode });
}

mfaSwitch.addEventListener('click', () => {
  mfaMethod = nextMethod();
  mfaCode.value = '';
  setError(null);
  paintSecondFactor();
  (mfaMethod === 'webauthn' ? mfaKey : mfaCode).focus();
});

mfaKey.addEventListener('click', async () => {
  if (isBusy(mfaKey)) return;
  setError(null);
  setBusy(true, 'mfa.waitingKey', mfaKey, mfaSwitch);
  let stay = true;
  try {
    const begun = await api('mfa/webauthn', { step: 'begin' });
    if (!begun.ok || !begun.data.success) {
      startOver(MFA_ERRORS[begun.ok && begun.data.error] || 'mfa.expired');
      return;
    }
    const credential = await browserCredential('get', begun.data.options);
    if (!credential) {
      setError('webauthn.cancelled');
      return;
    }
    const res = await api('mfa/webauthn', {
      step: 'finish', credential, hello: logonHello(),
    });
    if (res.ok && res.data.success) {
      stay = proceed(res.data.hello || null);
    } else if (res.ok && ['burned', 'expired', 'locked'].includes(res.data.error)) {
      startOver(MFA_ERRORS[res.data.error]);
    } else {
      setError('mfa.keyWrong');
    }
  } catch (err) {
    handleError(err);
  } finally {
    if (stay) setBusy(false, null, mfaKey, mfaSwitch);
  }
});

// A pending sign-in that ended (too many answers, five minutes past): the password again.
function startOver(key) {
  if (ctx.route === SECURITY_ROUTE) {
    routeSecurity(key === MFA_ERRORS.expired ? 'security.expired' : key);
    return;
  }
  password.value = '';
  go('/identifier');
  showSignin(key);
}

mfaForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (isBusy(mfaButton)) return;
  const code = mfaCode.value.trim();
  if (!code) {
    mfaCode.setAttribute('aria-invalid', 'true');
    setError('mfa.missing');
    mfaCode.focus();
    return;
  }
  setError(null);
  setBusy(true, 'mfa.checking', mfaButton, mfaSwitch);
  let stay = true;
  try {
    const res = await api('mfa', { method: mfaMethod, code, hello: logonHello() });
    if (res.ok && res.data.success) {
      stay = proceed(res.data.hello || null);
    } else if (res.ok && ['burned', 'expired'].includes(res.data.error)) {
      startOver(MFA_ERRORS[res.data.error]);
    } else {
      mfaCode.value = '';
      mfaCode.setAttribute('aria-invalid', 'true');
      setError(MFA_ERRORS[res.ok && res.data.error] || 'mfa.wrong');
      mfaCode.focus();
    }
  } catch (err) {
    handleError(err);
  } finally {
    if (stay) setBusy(false, null, mfaButton, mfaSwitch);
  }
});

mfaCode.addEventListener('input', () => mfaCode.removeAttribute('aria-invalid'));

// Setting up an authenticator app, then the recovery codes shown once.

const enrolForm = $('enrol-form');
// Whether the enrol screen adds an authenticator app on the security page (not at sign-in).
let enrolForSecurity = false;
const enrolCode = $('enrol-code');
const enrolButton = $('enrol-button');

// The server's QR code (inline SVG), parsed as an inert document (nothing in it runs) and
// only its <svg> element taken.
function paintQr(svgText) {
  const svg = new DOMParser().parseFromString(svgText, 'text/html').querySelector('svg');
  const box = $('enrol-qr');
  if (svg) {
    svg.setAttribute('aria-hidden', 'true');
    box.replaceChildren(document.importNode(svg, true));
  } else {
    box.replaceChildren();
  }
}

async function showEnrol(h) {
  mfaUser = h;
  enrolForSecurity = false;
  const passkey = passkeysOffered();
  const app = webauthnMethods().length === 0 || webauthnMethods().includes('totp');
  show('loading');
  try {
    let offer = null;
    if (app) {
      const res = await api('mfa/enrol', { step: 'begin' });
      if (!res.ok || !res.data.success) {
        startOver('mfa.expired');
        return;
      }
      offer = res.data;
    }
    enrolCode.value = '';
    show('enrol', {
      paint: () => {
        fill($('enrol-intro'), passkey ? 'enrol.introPasskey' : 'enrol.intro');
        $('enrol-name-field').hidden = true;
        $('enrol-cancel').hidden = true;
        $('enrol-passkey').hidden = !passkey;
        $('enrol-or').hidden = !app;
        $('enrol-app').hidden = !app;
        if (!offer) return;
        paintQr(offer.qr);
        $('enrol-key').textContent = offer.key.replace(/(.{4})(?!$)/g, '$1 ');
      },
      focus: passkey ? $('enrol-passkey-button') : enrolCode,
    });
  } catch (err) {
    startOver(err instanceof ApiError ? err.key : 'error.generic');
  }
}

$('enrol-passkey-button').addEventListener('click', async () => {
  const button = $('enrol-passkey-button');
  if (isBusy(button)) return;
  setError(null);
  setBusy(true, 'enrol.creating', button, enrolButton);
  try {
    const begun = await api('mfa/enrol/webauthn', { step: 'begin' });
    if (!begun.ok || !begun.data.success) {
      startOver('mfa.expired');
      return;
    }
    const credential = await browserCredential('create', begun.data.options);
    if (!credential) {
      setError('enrol.passkeyFailed');
      return;
    }
    const res = await api('mfa/enrol/webauthn', {
      step: 'finish', credential, hello: logonHello(),
    });
    if (res.ok && res.data.success) {
      showCodes(res.data.recovery_codes || [], res.data.hello || null);
    } else if (res.ok && ['expired', 'locked'].includes(res.data.error)) {
      startOver(MFA_ERRORS[res.data.error]);
    } else {
      setError('enrol.passkeyFailed');
    }
  } catch (err) {
    handleError(err);
  } finally {
    setBusy(false, null, button, enrolButton);
  }
});

enrolForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (isBusy(enrolButton)) return;
  const code = enrolCode.value.trim();
  if (!code) {
    enrolCode.setAttribute('aria-invalid', 'true');
    setError('enrol.missing');
    enrolCode.focus();
    return;
  }
  setError(null);
  setBusy(true, 'mfa.checking', enrolButton);
  try {
    const res = enrolForSecurity
      ? await api('security/totp', { step: 'confirm', code, name: $('enrol-name').value.trim() })
      : await api('mfa/enrol', { step: 'confirm', code, hello: logonHello() });
    if (enrolForSecurity && res.ok && res.data.success) securityNotice = 'security.factorAdded';
    if (!res.ok && enrolForSecurity) {
      routeSecurity();
    } else if (res.ok && res.data.error === 'stepup') {
      showSecondFactor(res.data);
    } else if (res.ok && res.data.success) {
      showCodes(res.data.recovery_codes || [], res.data.hello || null);
    } else if (res.ok && ['expired', 'locked'].includes(res.data.error)) {
      startOver(MFA_ERRORS[res.data.error]);
    } else {
      enrolCode.value = '';
      enrolCode.setAttribute('aria-invalid', 'true');
      setError('enrol.wrong');
      enrolCode.focus();
    }
  } catch (err) {
    handleError(err);
  } finally {
    setBusy(false, null, enrolButton);
  }
});

enrolCode.addEventListener('input', () => enrolCode.removeAttribute('aria-invalid'));

let codesNext = null;

function showCodes(codes, hello) {
  codesNext = hello;
  if (!codes.length) {
    proceed(hello);
    return;
  }
  $('codes-list').replaceChildren(...codes.map((code) => {
    const item = document.createElement('li');
    const text = document.createElement('code');
    text.textContent = code;
    item.append(text);
    return item;
  }));
  show('codes', { focus: $('codes-title') });
}

$('codes-copy').addEventListener('click', async () => {
  const codes = [...$('codes-list').querySelectorAll('code')].map((el) => el.textContent);
  try {
    await navigator.clipboard.writeText(codes.join('\n'));
    announce('codes.copied');
  } catch {
    setError('codes.copyFailed');
  }
});

$('codes-continue').addEventListener('click', () => {
  $('codes-list').replaceChildren();
  proceed(codesNext);
});

// The security page: the user's own factors, listed, named, added and removed, and the
// recovery codes renewed. A change may ask for a fresh second factor first (a step-up):
// the second step's screen runs, then the page comes back.

const SECURITY_ROUTE = '/identifier/security';
const KIND_LABELS = { webauthn: 'security.kindWebauthn', totp: 'security.kindTotp' };
const SECURITY_ERRORS = {
  protected: 'security.protected', missing: 'security.missing', expired: 'security.expired',
  locked: 'mfa.locked', wrong: 'enrol.wrong', admin_only: 'security.adminOnly',
};
let securityPage = null; // the overview the page shows
let securityNotice = null; // a message to announce when the page is shown again
let confirmAction = null; // what the confirmation's button does

const securityDate = (seconds) => new Date(seconds * 1000).toLocaleDateString(lang, { dateStyle: 'medium' });
const factorName = (factor) => factor.name || t(KIND_LABELS[factor.kind] || 'security.kindTotp');

async function routeSecurity(errorKey) {
  show('loading');
  let res;
  try {
    res = await api('security', {});
  } catch (err) {
    if (err.fatal) showFailed(err.code, err.detail);
    else showJoinFailed(err.key, 'security.title');
    return;
  }
  if (!res.ok) {
    location.replace(`${prefix}/identifier?${new URLSearchParams({ continue: location.href })}`);
    return;
  }
  if (!res.data.success) {
    showJoinFailed('security.unavailable', 'security.title');
    return;
  }
  securityPage = res.data;
  show('security', { paint: paintSecurity });
  if (errorKey) setError(errorKey);
  if (securityNotice) {
    $('status').textContent = t(securityNotice);
    securityNotice = null;
  }
}

function paintSecurity() {
  const page = securityPage;
  paintUser($('security-user'), page);
  $('security-none').hidden = page.factors.length > 0;
  $('security-list').replaceChildren(...page.factors.map(factorItem));
  const methods = page.methods || [];
  const mayAdd = page.mayAdd !== false;
  $('security-add-passkey').hidden = !mayAdd || !methods.includes('webauthn') || !passkeysOffered();
  $('security-add-app').hidden = !mayAdd || !methods.includes('totp');
  $('security-none').dataset.i18n = mayAdd ? 'security.none' : 'security.adminOnly';
  $('security-none').textContent = t($('security-none').dataset.i18n);
  $('security-recovery').hidden = !methods.includes('recovery') || page.factors.length === 0;
  fill($('security-codes-left'), page.recoveryCodes ? 'security.codesLeft' : 'security.noCodes', {
    count: page.recoveryCodes,
  });
  $('security-done').href = `${prefix}/welcome`;
  if (confirmAction) {
    $('security-confirm-text').textContent = t(confirmAction.text, confirmAction.vars);
    $('security-confirm-ok').textContent = t(confirmAction.button);
  }
}

function smallButton(key, name, onClick) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button secondary small-button';
  button.textContent = t(key);
  button.setAttribute('aria-label', t(`${key}Label`, { name }));
  button.addEventListener('click', onClick);
  return button;
}

function factorItem(factor) {
  const item = document.createElement('li');
  item.className = 'factor';
  item.dataset.id = factor.id;
  const name = factorName(factor);
  const title = document.createElement('span');
  title.className = 'factor-name';
  title.textContent = name;
  const meta = document.createElement('span');
  meta.className = 'factor-meta';
  const kind = factor.name ? `${t(KIND_LABELS[factor.kind] || 'security.kindTotp')} · ` : '';
  const used = factor.lastUsed > factor.created
    ? t('security.lastUsed', { date: securityDate(factor.lastUsed) })
    : t('security.neverUsed');
  const line = `${kind}${t('security.addedOn', { date: securityDate(factor.created) })} · ${used}`;
  meta.textContent = line.charAt(0).toLocaleUpperCase(lang) + line.slice(1);
  const text = document.createElement('span');
  text.className = 'factor-text';
  text.append(title, meta);
  const buttons = document.createElement('span');
  buttons.className = 'factor-actions';
  buttons.append(
    smallButton('security.rename', name, () => startRename(item, factor)),
    smallButton('security.remove', name, () => askConfirm({
      text: 'security.confirmRemove',
      vars: { name },
      button: 'security.remove',
      send: () => api('security/remove', { kind: factor.kind, id: factor.id }),
      then: (res) => removed(factor, res),
    })),
  );
  item.append(text, buttons);
  return item;
}

// Answers of the security API: a step-up runs the second step; other refusals are shown.
function securityRefused(res) {
  if (!res.ok || res.data.error === 'unavailable') {
    routeSecurity();
    return true;
  }
  if (res.data.success) return false;
  if (res.data.error === 'stepup') showSecondFactor(res.data);
  else setError(SECURITY_ERRORS[res.data.error] || 'error.generic');
  return true;
}

function startRename(item, factor) {
  const form = document.createElement('form');
  form.className = 'rename';
  form.noValidate = true;
  const field = document.createElement('div');
  field.className = 'field';
  const label = document.createElement('label');
  label.htmlFor = `rename-${factor.id}`;
  label.textContent = t('security.name');
  const input = document.createElement('input');
  input.id = `rename-${factor.id}`;
  input.type = 'text';
  input.maxLength = 64;
  input.autocomplete = 'off';
  input.value = factor.name || '';
  field.append(label, input);
  const actions = document.createElement('div');
  actions.className = 'actions';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'button secondary';
  cancel.textContent = t('security.cancel');
  const save = document.createElement('button');
  save.type = 'submit';
  save.className = 'button primary';
  save.textContent = t('security.save');
  actions.append(cancel, save);
  form.append(field, actions);
  const stop = () => {
    paintSecurity();
    focusFactor(factor.id);
  };
  cancel.addEventListener('click', stop);
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') stop();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (isBusy(save)) return;
    setError(null);
    setBusy(true, null, save, cancel);
    let res;
    try {
      res = await api('security/rename', { kind: factor.kind, id: factor.id, name: input.value.trim() });
    } catch (err) {
      handleError(err);
      return;
    } finally {
      setBusy(false, null, save, cancel);
    }
    if (securityRefused(res)) return;
    securityNotice = 'security.renamed';
    await routeSecurity();
    focusFactor(factor.id);
  });
  item.replaceChildren(form);
  input.focus();
  input.select();
}

function focusFactor(id) {
  const item = [...$('security-list').children].find((li) => li.dataset.id === id);
  const button = item && item.querySelector('button');
  if (button) button.focus();
}

function askConfirm(action) {
  confirmAction = action;
  setError(null);
  $('security-confirm').hidden = false;
  paintSecurity();
  $('security-confirm-text').focus();
}

function closeConfirm() {
  confirmAction = null;
  $('security-confirm').hidden = true;
}

function cancelConfirm() {
  closeConfirm();
  $('security-title').focus();
}

$('security-confirm-cancel').addEventListener('click', cancelConfirm);
$('security-confirm').addEventListener('keydown', (event) => {
  if (event.key === 'Escape') cancelConfirm();
});

$('security-confirm-ok').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  if (!confirmAction || isBusy(button)) return;
  const { send, then } = confirmAction;
  setBusy(true, null, button, $('security-confirm-cancel'));
  let res;
  try {
    res = await send();
  } catch (err) {
    handleError(err);
    return;
  } finally {
    setBusy(false, null, button, $('security-confirm-cancel'));
  }
  closeConfirm();
  await then(res);
});

async function removed(factor, res) {
  if (securityRefused(res)) {
    if (screen === 'security') focusFactor(factor.id);
    return;
  }
  securityNotice = 'security.removed';
  await routeSecurity();
}

function renewed(res) {
  if (securityRefused(res)) return;
  showCodes(res.data.recovery_codes || [], null);
}

$('security-renew').addEventListener('click', () => askConfirm({
  text: 'security.confirmRenew',
  button: 'security.renewButton',
  send: () => api('security/recovery', {}),
  then: renewed,
}));

$('security-add-app').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  if (isBusy(button)) return;
  setError(null);
  closeConfirm();
  setBusy(true, null, button);
  try {
    const res = await api('security/totp', { step: 'begin' });
    if (securityRefused(res)) return;
    showAddApp(res.data);
  } catch (err) {
    handleError(err);
  } finally {
    setBusy(false, null, button);
  }
});

function showAddApp(offer) {
  enrolForSecurity = true;
  enrolCode.value = '';
  $('enrol-name').value = '';
  show('enrol', {
    paint: () => {
      fill($('enrol-intro'), 'security.appIntro');
      $('enrol-passkey').hidden = true;
      $('enrol-app').hidden = false;
      $('enrol-name-field').hidden = false;
      $('enrol-cancel').hidden = false;
      paintQr(offer.qr);
      $('enrol-key').textContent = offer.key.replace(/(.{4})(?!$)/g, '$1 ');
    },
    focus: enrolCode,
  });
}

$('enrol-cancel').addEventListener('click', () => routeSecurity());

$('security-add-passkey').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  if (isBusy(button)) return;
  setError(null);
  closeConfirm();
  setBusy(true, 'enrol.creating', button);
  try {
    const begun = await api('security/webauthn', { step: 'begin' });
    if (securityRefused(begun)) return;
    const credential = await browserCredential('create', begun.data.options);
    if (!credential) {
      setError('enrol.passkeyFailed');
      return;
    }
    const res = await api('security/webauthn', { step: 'finish', credential });
    if (res.ok && !res.data.success && res.data.error === 'wrong') {
      setError('enrol.passkeyFailed');
      return;
    }
    if (securityRefused(res)) return;
    securityNotice = 'security.factorAdded';
    showCodes(res.data.recovery_codes || [], null);
  } catch (err) {
    handleError(err);
  } finally {
    setBusy(false, null, button);
  }
});

// Choose an account.

let chosen = null;

function showChoose(h) {
  chosen = h;
  const button = $('choose-account');
  show('choose', {
    paint: () => {
      const name = h.displayName || h.username || '';
      button.querySelector('.account-name').textContent = name;
      button.querySelector('.account-user').textContent = h.displayName ? h.username || '' : '';
      paintAvatars('choose', h);
    },
    focus: button,
  });
}

$('choose-account').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  const other = $('choose-other');
  if (!chosen || isBusy(button) || isBusy(other)) return;
  setError(null);
  setBusy(true, null, button, other);
  let stay = true;
  try {
    const res = await api('logon', { params: [chosen.username || '', '', '0'], hello: logonHello() });
    if (res.ok) {
      stay = proceed(res.data.hello || null);
    } else {
      setBusy(false, null, button, other);
      stay = false;
      useAnotherAccount('signin.expired');
    }
  } catch (err) {
    handleError(err);
  } finally {
    if (stay) setBusy(false, null, button, other);
  }
});

function useAnotherAccount(errorKey) {
  // Drop select_account so that requests made from here do not ask again.
  ctx.prompt = ctx.prompt.split(/\s+/).filter((p) => p && p !== 'select_account').join(' ');
  go('/identifier');
  username.value = '';
  showSignin(errorKey);
}

$('choose-other').addEventListener('click', (event) => {
  if (!isBusy(event.currentTarget)) useAnotherAccount();
});

// Consent.

let consentHello = null;

function requestedScopes(h) {
  return Object.keys(h.scopes || {}).filter((s) => h.scopes[s]);
}

// One line per scope alias, most important first: a catalogue text for well-known scope ids,
// else the description from the scopes file, else the scope's name.
function scopeLabels(h) {
  const meta = (h.meta && h.meta.scopes) || {};
  const mapping = meta.mapping || {};
  const definitions = meta.definitions || {};
  const seen = new Map();
  for (const scope of requestedScopes(h)) {
    const alias = mapping[scope] || scope;
    if (seen.has(alias)) continue;
    const def = definitions[alias] || {};
    const key = def.id ? `scope.${def.id}` : '';
    let label;
    if (key && typeof messages[key] === 'string') label = t(key);
    else if (def.description) label = String(def.description);
    else label = t('scope.other', { scope });
    seen.set(alias, { label, priority: Number(def.priority) || 0 });
  }
  return [...seen.values()].sort((a, b) => b.priority - a.priority).map((s) => s.label);
}

function showConsent(h) {
  consentHello = h;
  const client = h.client || {};
  const name = client.display_name || client.id || ctx.query.get('client_id') || '';
  const logo = safeUrl(client.logo_uri || '');
  const img = $('consent-logo');
  const initial = $('consent-initial');
  initial.textContent = initials(name).slice(0, 1);
  initial.hidden = Boolean(logo);
  img.hidden = !logo;
  if (logo) {
    img.addEventListener('error', () => { img.hidden = true; initial.hidden = false; }, { once: true });
    img.src = logo.href;
  }
  const brand = document.querySelector('.brand > :first-child');
  if (brand && !$('consent-brand').firstChild) $('consent-brand').append(brand.cloneNode(true));
  const target = client.redirect_host || '';
  go('/consent');
  show('consent', {
    paint: () => paintConsent(h, name, target),
  });
}

// The client's own pages (home, privacy policy, terms), shown only as http(s) links.
function paintClientLinks(client, name) {
  const links = [['consent-link', client.uri], ['consent-policy', client.policy_uri], ['consent-tos', client.tos_uri]];
  let any = false;
  for (const [id, value] of links) {
    const url = safeUrl(value || '');
    const link = $(id);
    link.hidden = !url;
    if (url) link.href = url.href;
    any = any || Boolean(url);
  }
  $('consent-link').textContent = t('consent.about', { client: name });
  $('consent-about').hidden = !any;
}

function paintConsent(h, name, target) {
  fill($('consent-title'), 'consent.title', { client: name });
  const user = h.displayName || h.username || '';
  const chip = $('consent-user');
  chip.replaceChildren();
  if (user) {
    const avatar = document.createElement('span');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    avatar.textContent = initials(user);
    const text = document.createElement('span');
    fill(text, 'consent.signedInAs', { name: user });
    chip.replaceChildren(avatar, text);
  }
  const unverified = $('consent-unverified');
  unverified.hidden = (h.client || {}).verified !== false;
  if (!unverified.hidden) fill(unverified, 'consent.unverified', { client: strong(name) });
  fill($('consent-intro'), 'consent.intro', { client: name });
  $('consent-scopes').replaceChildren(...scopeLabels(h).map((text) => {
    const li = document.createElement('li');
    li.textContent = text;
    return li;
  }));
  const back = $('consent-return');
  back.hidden = !target;
  if (target) fill(back, 'consent.returnTo', { host: strong(target) });
  paintClientLinks(h.client || {}, name);
}

async function sendConsent(allow, button) {
  const h = consentHello;
  const other = allow ? $('consent-cancel') : $('consent-allow');
  if (!h || isBusy(button) || isBusy(other)) return;
  setError(null);
  setBusy(true, null, button, other);
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
    if (proceed(h, res.state)) setBusy(false, null, button, other);
  } catch (err) {
    setBusy(false, null, button, other);
    handleError(err);
  }
}

$('consent-allow').addEventListener('click', (e) => sendConsent(true, e.currentTarget));
$('consent-cancel').addEventListener('click', (e) => sendConsent(false, e.currentTarget));

// Welcome, sign out.

function userLine(section, key, user) {
  const name = user.displayName || user.username || '';
  const line = $(`${section}-user`);
  if (user.displayName && user.username && user.displayName !== user.username) {
    fill(line, key, { name: strong(name), username: user.username });
  } else {
    fill(line, `${key}Short`, { name: strong(name) });
  }
  paintAvatars(section, user);
}

async function logoff(button) {
  if (isBusy(button)) return;
  setError(null);
  setBusy(true, 'app.signingOut', button);
  try {
    // After RP-initiated logout, `logout` (sealed by the server) leads back to the client.
    const logout = ctx.query.get('logout');
    const res = await api('logoff', logout ? { logout } : {});
    // Relying parties to tell about the sign-out (front-channel logout): a page loads them.
    const next = res.ok ? continueUrl(res.data.continue_uri, false) : null;
    if (next) {
      window.location.assign(next);
      return;
    }
    setBusy(false, null, button);
    go('/goodbye');
    show('signedout');
  } catch (err) {
    setBusy(false, null, button);
    handleError(err);
  }
}

$('welcome-signout').addEventListener('click', (e) => logoff(e.currentTarget));
$('goodbye-signout').addEventListener('click', (e) => logoff(e.currentTarget));

function showFailed(code, detail) {
  const known = /^[a-z_]{1,40}$/.test(code || '') ? code : '';
  show('failed', {
    paint: () => {
      $('failed-code').textContent = known;
      $('failed-text').textContent = detail || '';
      $('failed-code').closest('p').hidden = !known && !detail;
    },
  });
}

// --- Jitsi invitations ------------------------------------------------------------------

// Error codes of the invitation API and the messages they show.
const JITSI_ERRORS = {
  invitation_invalid: 'join.invalid',
  invitation_expired: 'join.expired',
  invitation_early: 'join.early',
  invitation_revoked: 'join.revoked',
  invalid_name: 'join.invalidName',
  invalid_request: 'invite.invalid',
  access_denied: 'invite.denied',
  temporarily_unavailable: 'error.unavailable',
};

// Like api(), for the invitation API: an ApiError carries the error code and its message.
async function jitsiApi(op, payload) {
  const state = newState();
  let res;
  try {
    res = await fetch(apiBase + 'jitsi/' + op, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', 'Kopano-Konnect-XSRF': '1' },
      body: JSON.stringify({ state, ...payload }),
    });
  } catch {
    throw new ApiError('error.offline');
  }
  const data = await res.json().catch(() => null);
  if (!data || data.state !== state) throw new ApiError('error.generic');
  if (res.ok) return data;
  const code = String(data.error || '');
  throw new ApiError(JITSI_ERRORS[code] || 'error.generic', false, code);
}

const localTime = (seconds) => new Date(seconds * 1000).toLocaleString(lang, {
  dateStyle: 'medium', timeStyle: 'short',
});

// The value of a datetime-local input for a time, in the browser's time zone.
function inputTime(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

const inputSeconds = (input) => Math.floor(new Date(input.value).getTime() / 1000);

// The page of an invitation that cannot be used, or of an invitation page one cannot use.
function showJoinFailed(key, titleKey = 'joinfailed.title') {
  $('joinfailed-title').dataset.i18n = titleKey;
  show('joinfailed', { paint: () => { $('joinfailed-text').textContent = t(key); } });
}

let invitation = null; // {link, ics} of the invitation just made

async function routeInvite() {
  show('loading');
  let data;
  try {
    data = await jitsiApi('servers', {});
  } catch (err) {
    showJoinFailed(err.key, 'invite.unavailableTitle');
    return;
  }
  if (!data.signedIn) {
    location.replace(`${prefix}/identifier?${new URLSearchParams({ continue: location.href })}`);
    return;
  }
  const select = $('invite-server');
  select.replaceChildren(...data.servers.map((server) => new Option(server.url, server.id)));
  $('invite-server-field').hidden = data.servers.length < 2;
  const start = new Date();
  start.setSeconds(0, 0);
  $('invite-from').value = inputTime(start);
  $('invite-until').value = inputTime(new Date(start.getTime() + 2 * 3600 * 1000));
  show('invite', { focus: $('invite-room') });
}

$('invite-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const button = $('invite-button');
  if (isBusy(button)) return;
  const room = $('invite-room').value.trim();
  if (!room) {
    setError('invite.missingRoom');
    return;
  }
  setError(null);
  setBusy(true, null, button);
  try {
    invitation = await jitsiApi('invite', {
      server: $('invite-server').value,
      room,
      role: $('invite-role').value,
      not_before: inputSeconds($('invite-from')),
      not_after: inputSeconds($('invite-until')),
      name: $('invite-name').value.trim(),
    });
    $('invite-link').value = invitation.link;
    const ics = $('invite-ics');
    if (ics.href.startsWith('blob:')) URL.revokeObjectURL(ics.href);
    ics.href = URL.createObjectURL(new Blob([invitation.ics], { type: 'text/calendar' }));
    $('invite-result').hidden = false;
    $('invite-link').focus();
    $('invite-link').select();
  } catch (err) {
    handleError(err);
  } finally {
    setBusy(false, null, button);
  }
});

$('invite-copy').addEventListener('click', async () => {
  $('invite-link').select();
  try {
    await navigator.clipboard.writeText($('invite-link').value);
    announce('invite.copied');
  } catch {
    announce('invite.copyByHand');
  }
});

$('invite-revoke').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  if (isBusy(button) || !invitation) return;
  setBusy(true, null, button);
  try {
    await jitsiApi('revoke', { invitation: invitation.link.split('#')[1] });
    $('invite-result').hidden = true;
    invitation = null;
    setError('invite.revoked');
  } catch (err) {
    handleError(err);
  } finally {
    setBusy(false, null, button);
  }
});

const sealedInvitation = () => location.hash.slice(1);

async function routeJoin() {
  show('loading');
  let info;
  try {
    info = await jitsiApi('invitation', { invitation: sealedInvitation() });
  } catch (err) {
    showJoinFailed(err.key);
    return;
  }
  const name = $('join-name');
  if (!name.value) name.value = info.name || '';
  const key = info.role === 'moderator' ? 'join.textModerator' : 'join.text';
  show('join', {
    focus: name,
    paint: () => fill($('join-text'), key, {
      room: strong(info.room), until: localTime(info.notAfter), server: info.server,
    }),
  });
}

$('join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const button = $('join-button');
  if (isBusy(button)) return;
  const name = $('join-name').value.trim();
  if (!name) {
    setError('join.missingName');
    return;
  }
  setError(null);
  setBusy(true, null, button);
  try {
    const res = await jitsiApi('join', { invitation: sealedInvitation(), name });
    location.assign(res.location);
  } catch (err) {
    setBusy(false, null, button);
    if (err.key.startsWith('join.') && err.key !== 'join.invalidName') showJoinFailed(err.key);
    else handleError(err);
  }
});

// --- routes ----------------------------------------------------------------------------

async function routeIdentifier() {
  show('loading');
  let res;
  try {
    res = await api('hello', requestFields());
  } catch (err) {
    if (err.fatal) showFailed(err.code, err.detail);
    else showSignin(err.key);
    return;
  }
  if (res.ok && !hasPrompt('select_account')) proceed(res.data);
  else if (res.ok) showChoose(res.data);
  else showSignin();
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
    const link = $('welcome-security');
    link.hidden = webauthnMethods().length === 0;
    link.href = prefix + SECURITY_ROUTE;
    show('welcome', { paint: () => userLine('welcome', 'welcome.text', res.data) });
  } catch (err) {
    go('/identifier');
    showSignin();
    handleError(err);
  }
}

async function routeGoodbye() {
  show('loading');
  try {
    const res = await api('hello', {});
    if (res.ok) show('goodbye', { paint: () => userLine('goodbye', 'goodbye.text', res.data) });
    else show('signedout');
  } catch (err) {
    show('goodbye', { paint: () => { $('goodbye-user').textContent = ''; } });
    handleError(err);
  }
}

function start() {
  setupLanguages();
  readLocation();
  if (config.error) {
    showFailed(config.error.error, config.error.description);
    return;
  }
  if (ctx.query.has('error')) {
    showFailed(ctx.query.get('error'), '');
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
    case SECURITY_ROUTE:
      routeSecurity();
      break;
    case '/goodbye':
      routeGoodbye();
      break;
    case '/jitsi/invite':
      routeInvite();
      break;
    case '/jitsi/join':
      routeJoin();
      break;
    default:
      go('/identifier');
      routeIdentifier();
  }
}

// A service worker left behind by an earlier version of this app must not serve stale pages.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.getRegistrations()
    .then((all) => all.forEach((reg) => reg.unregister()))
    .catch(() => {});
}

start();
