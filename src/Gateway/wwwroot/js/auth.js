// Sign-in: the gateway's development sign-in (a user name gets a token signed with the development key),
// or, with Auth:Authority configured, the OIDC authorization code flow with PKCE in the browser.
import { api, session } from './api.js';

const PKCE_KEY = 'ticketsaga.oidc';
const SIGN_IN_ERROR_KEY = 'ticketsaga.oidc.error';
let config;

export async function storefrontConfig() {
  config ??= (await api('/storefront/config')).body;
  return config;
}

export async function signInDevelopment(userName) {
  const { body } = await api('/storefront/sign-in', { method: 'POST', body: { user_name: userName } });
  session.set(body.token, body.user_id, body.expires_at, body.user_id);
}

export async function signInWithOidc(returnTo) {
  const { authority, oidc_client_id: clientId } = await storefrontConfig();
  const discovery = await (await fetch(new URL('.well-known/openid-configuration', authority.replace(/\/?$/, '/')))).json();
  const verifier = randomText(64);
  const state = randomText(24);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo, tokenEndpoint: discovery.token_endpoint }));
  const challenge = base64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri(), scope: 'openid profile', state,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(url);
}

// Back from the provider with ?code=&state= (or ?error=): exchange the code for tokens, then go where the buyer was.
export async function completeOidcSignIn() {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  if (!(params.has('code') || params.has('error')) || !pending || params.get('state') !== pending.state) return false;
  sessionStorage.removeItem(PKCE_KEY);
  try {
    if (params.has('error')) throw new Error(params.get('error_description') || params.get('error'));
    const { oidc_client_id: clientId } = await storefrontConfig();
    const response = await fetch(pending.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri(), client_id: clientId, code_verifier: pending.verifier,
      }),
    });
    const tokens = await response.json();
    if (!response.ok) throw new Error(tokens.error_description || tokens.error || `HTTP ${response.status}`);
    const claims = JSON.parse(atob(tokens.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    session.set(tokens.access_token, claims.sub, new Date(claims.exp * 1000).toISOString(), claims.name);
    history.replaceState(null, '', `/${pending.returnTo || '#/'}`);
  } catch (failure) {
    sessionStorage.setItem(SIGN_IN_ERROR_KEY, failure.message);
    history.replaceState(null, '', `/#/sign-in?return=${encodeURIComponent(pending.returnTo || '#/')}`);
  }
  return true;
}

/** Why the last sign-in at the provider failed, once. */
export function takeSignInError() {
  const message = sessionStorage.getItem(SIGN_IN_ERROR_KEY);
  sessionStorage.removeItem(SIGN_IN_ERROR_KEY);
  return message;
}

const redirectUri = () => `${location.origin}/`;

function randomText(bytes) {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64Url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
