// The storefront: hash routes (the paths /orders and /events belong to the API), one view at a time.
import { session, h } from './api.js';
import { completeOidcSignIn } from './auth.js';
import { renderEvents } from './events.js';
import { renderEvent } from './event.js';
import { renderOrder } from './order.js';
import { renderOrders } from './orders.js';
import { renderSignIn } from './signin.js';

const routes = [
  [/^#?\/?$/, renderEvents, 'Events'],
  [/^#\/events\/([0-9a-f-]{36})$/, renderEvent, 'Event'],
  [/^#\/orders$/, renderOrders, 'My orders', true],
  [/^#\/orders\/([0-9a-f-]{36})$/, renderOrder, 'Order', true],
  [/^#\/sign-in$/, renderSignIn, 'Sign in'],
];

let leaveView = () => {};

async function show() {
  leaveView();
  leaveView = () => {};
  renderAccount();
  const main = document.getElementById('main');
  const hash = location.hash.split('?')[0];
  const route = routes.find(([pattern]) => pattern.test(hash));
  if (!route) {
    main.innerHTML = h`<h1>Not found</h1><p><a href="#/">Back to the events</a></p>`;
    return;
  }
  const [pattern, render, title, needsSignIn] = route;
  if (needsSignIn && !session.get()) {
    location.replace(`#/sign-in?return=${encodeURIComponent(location.hash)}`);
    return;
  }
  document.title = `${title} · TicketSaga`;
  const controller = new AbortController();
  leaveView = () => controller.abort();
  main.innerHTML = '<p>Loading…</p>';
  try {
    await render(main, hash.match(pattern).slice(1), controller.signal);
  } catch (error) {
    if (controller.signal.aborted) return;
    main.innerHTML = h`<h1>Something went wrong</h1><p class="alert" role="alert">${error.message}</p><p><a href="#/">Back to the events</a></p>`;
  }
  // Focus moves to the new page's heading, so that keyboard and screen reader users start there.
  const heading = main.querySelector('h1');
  if (heading && !main.contains(document.activeElement)) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function renderAccount() {
  const account = document.getElementById('account');
  const current = session.get();
  if (!current) {
    account.innerHTML = h`<a href="#/sign-in?return=${encodeURIComponent(location.hash || '#/')}">Sign in</a>`;
    return;
  }
  account.innerHTML = h`<span>Signed in as <strong>${current.name || current.userId}</strong></span> <button type="button" id="sign-out">Sign out</button>`;
  account.querySelector('#sign-out').addEventListener('click', () => {
    session.clear();
    location.hash = '#/';
    show();
  });
}

window.addEventListener('hashchange', show);
completeOidcSignIn().finally(show);
