import { h } from './api.js';
import { signInDevelopment, signInWithOidc, storefrontConfig, takeSignInError } from './auth.js';

export async function renderSignIn(main) {
  const returnTo = new URLSearchParams(location.hash.split('?')[1] || '').get('return') || '#/';
  const config = await storefrontConfig();
  if (config.sign_in === 'none') {
    main.innerHTML = h`<h1>Sign in</h1><p>This storefront has no sign-in of its own here: the gateway accepts tokens of its configured issuer only.</p>`;
    return;
  }
  if (config.sign_in === 'oidc') {
    main.innerHTML = h`<h1>Sign in</h1><p>You sign in with your account at ${new URL(config.authority).host}.</p>
      <p class="alert" role="alert" id="sign-in-error">${takeSignInError() || ''}</p>
      <button type="button" id="oidc">Continue to sign in</button>`;
    main.querySelector('#oidc').addEventListener('click', () => signInWithOidc(returnTo));
    return;
  }
  main.innerHTML = h`
    <h1>Sign in</h1>
    <p class="notice">Development sign-in: this gateway runs with the development signing key, so any user name gets a
      token. It does not exist where an OIDC provider (Auth:Authority) is configured.</p>
    <form id="sign-in" class="card" novalidate>
      <label for="user-name">User name</label>
      <input type="text" id="user-name" name="user" autocomplete="username" required maxlength="64"
        pattern="[A-Za-z0-9._\\-]+" aria-describedby="user-name-hint">
      <p id="user-name-hint" class="meta">Letters, digits, '.', '_' or '-'; e.g. alice.</p>
      <p class="alert" role="alert" id="sign-in-error"></p>
      <div class="actions"><button type="submit">Sign in</button></div>
    </form>`;
  const form = main.querySelector('#sign-in');
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const error = form.querySelector('#sign-in-error');
    error.textContent = '';
    try {
      await signInDevelopment(form.user.value.trim());
      location.hash = returnTo;
    } catch (failure) {
      error.textContent = failure.message;
      form.user.setAttribute('aria-invalid', 'true');
      form.user.focus();
    }
  });
}
