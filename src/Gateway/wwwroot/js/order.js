import { announce, api, ApiError, every, formatMoney, formatTime, h, sleep } from './api.js';
import { storefrontConfig } from './auth.js';

// The local Stripe stub's test payment methods (Stripe's own names, so a real test-mode account knows them too).
const TEST_CARDS = [
  ['pm_card_visa', 'Visa — the payment succeeds'],
  ['pm_card_visa_chargeDeclined', 'Visa — declined by the bank'],
  ['pm_card_chargeDeclinedInsufficientFunds', 'Visa — declined: insufficient funds'],
  ['pm_card_authenticationRequired', 'Visa — asks for 3D Secure'],
];

const OUTCOMES = {
  CONFIRMED: 'Paid: your tickets are confirmed.',
  EXPIRED: 'The hold expired before the payment: the tickets are back on sale.',
  CANCELLED: 'You cancelled the order: the tickets are back on sale.',
  REFUNDED: 'The payment was refunded: the tickets are back on sale.',
};

export async function renderOrder(main, [orderId], signal) {
  let order = (await api(`/orders/${orderId}`, { signal })).body;
  const config = await storefrontConfig();
  main.innerHTML = h`
    <p><a href="#/orders"><span aria-hidden="true">← </span>My orders</a></p>
    <h1>Order ${orderId.slice(0, 8)}</h1>
    <p>Status: <span id="status" class="badge"></span></p>
    <p id="outcome" role="status" aria-live="polite"></p>
    <section class="card" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Your hold</h2>
      <p>${order.qty} ticket${order.qty === 1 ? '' : 's'}${order.seats.length ? ` · seats ${order.seats.map(s => s.label).join(', ')}` : ' · general admission'}</p>
      <p>Amount: <strong id="amount">${formatMoney(order.amount, order.currency)}</strong></p>
      <p id="countdown-line">Held until ${formatTime(order.expires_at, { timeStyle: 'medium' })} ·
        time left to pay: <span class="countdown" id="countdown" role="timer" aria-live="off"></span></p>
    </section>
    <section class="card" id="pay" aria-labelledby="pay-heading">
      <h2 id="pay-heading">Pay</h2>
      <form id="pay-form" novalidate>
        ${config.stripe_publishable_key ? h`<div id="payment-element"></div>` : h`
          <fieldset>
            <legend>Test card${config.test_cards ? ' (local Stripe stub)' : ''}</legend>
            ${TEST_CARDS.map(([id, label], i) => h`<div class="choice">
              <input type="radio" name="card" id="card-${id}" value="${id}" ${i === 0 ? { raw: 'checked' } : ''}>
              <label for="card-${id}">${label}</label></div>`)}
          </fieldset>`}
        <p class="alert" role="alert" id="pay-error"></p>
        <div class="actions">
          <button type="submit" id="pay-button">Pay ${formatMoney(order.amount, order.currency)}</button>
          <button type="button" class="danger" id="cancel">Cancel order</button>
        </div>
      </form>
      <div id="three-ds" class="notice" hidden>
        <h3 id="three-ds-heading" tabindex="-1">Confirm the payment with your bank</h3>
        <p>Your bank asks you to confirm this payment (3D Secure). ${config.test_cards ? 'Test mode: these buttons stand in for the bank’s page.' : ''}</p>
        <div class="actions">
          <button type="button" id="three-ds-complete">Complete authentication</button>
          <button type="button" class="danger" id="three-ds-fail">Fail authentication</button>
        </div>
      </div>
    </section>
    <section aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline</h2>
      <ol class="timeline" id="timeline"></ol>
    </section>`;

  const form = main.querySelector('#pay-form');
  const payError = main.querySelector('#pay-error');
  const threeDs = main.querySelector('#three-ds');
  const stripe = config.stripe_publishable_key ? await mountPaymentElement(config.stripe_publishable_key, order, main) : null;

  function renderStatus() {
    const status = main.querySelector('#status');
    status.textContent = order.status;
    status.className = `badge status-${order.status}`;
    const live = order.status === 'PENDING';
    main.querySelector('#pay').hidden = !live;
    main.querySelector('#countdown-line').hidden = !live;
    const outcome = main.querySelector('#outcome');
    const text = order.status === 'PENDING' ? '' : OUTCOMES[order.status];
    if (outcome.textContent !== text) outcome.textContent = text;
  }

  function tick() {
    const left = Math.max(0, new Date(order.expires_at) - new Date());
    const minutes = Math.floor(left / 60000);
    const seconds = Math.floor(left / 1000) % 60;
    main.querySelector('#countdown').textContent = `${minutes}:${String(seconds).padStart(2, '0')}`;
    if (left === 0 && order.status === 'PENDING') main.querySelector('#countdown').textContent = '0:00 — ending the hold…';
  }

  async function renderTimeline() {
    const { body } = await api(`/orders/${orderId}/timeline`, { signal });
    main.querySelector('#timeline').innerHTML = body.entries.map(entry => h`<li data-step="${entry.step}">
      <strong>${entry.step.replace(/_/g, ' ')}</strong> — ${entry.detail}<time datetime="${entry.at}">${formatTime(entry.at, { dateStyle: 'short', timeStyle: 'medium' })}</time></li>`).join('');
  }

  async function refresh() {
    const latest = (await api(`/orders/${orderId}`, { signal })).body;
    if (latest.status !== order.status) {
      order = latest;
      renderStatus();
      announce(`Order ${order.status.toLowerCase()}.`);
      await renderTimeline();
    }
  }

  async function confirm(paymentMethod) {
    // payment-service may not know a just-placed order yet: 409 with Retry-After, then it does.
    for (let attempt = 0; ; attempt++) {
      try {
        return (await api('/payments/confirm', { method: 'POST', body: { order_id: orderId, payment_method: paymentMethod } })).body;
      } catch (failure) {
        const notYet = failure instanceof ApiError && failure.status === 409 && failure.problem.type?.endsWith('/order-not-yet-payable');
        if (!notYet || attempt >= 20) throw failure;
        await sleep((failure.retryAfter || 1) * 1000);
      }
    }
  }

  function showPayment(payment) {
    if (payment.status === 'REQUIRES_ACTION') {
      threeDs.hidden = false;
      threeDs.querySelector('h3').focus();
      return stripe?.handleNextAction({ clientSecret: payment.client_secret });
    }
    threeDs.hidden = true;
    main.querySelector('#outcome').textContent = payment.status === 'SUCCEEDED' ? 'Payment received: confirming your tickets…' : 'The bank is deciding…';
    return undefined;
  }

  form.addEventListener('submit', async e => {
    e.preventDefault();
    payError.textContent = '';
    const button = main.querySelector('#pay-button');
    button.disabled = true;
    try {
      const paymentMethod = stripe ? await stripe.createPaymentMethodId() : form.card.value;
      await showPayment(await confirm(paymentMethod));
    } catch (failure) {
      if (!(failure instanceof ApiError) && !failure.stripe) throw failure;
      // A decline names its reason; the order stays payable with another card until it expires.
      payError.textContent = `${failure.problem?.title ?? 'The payment failed'}: ${failure.message}`;
    } finally {
      button.disabled = false;
    }
  });

  for (const [id, outcome] of [['#three-ds-complete', 'succeed'], ['#three-ds-fail', 'fail']]) {
    main.querySelector(id).addEventListener('click', async () => {
      try {
        await api('/storefront/test-authentication', { method: 'POST', body: { order_id: orderId, outcome } });
        threeDs.hidden = true;
        if (outcome === 'succeed') {
          main.querySelector('#outcome').textContent = 'Authenticated: confirming your tickets…';
        } else {
          payError.textContent = 'The bank could not authenticate the payment. Try another card.';
          form.querySelector('input, button').focus();
        }
      } catch (failure) {
        payError.textContent = failure.message;
      }
    });
  }

  main.querySelector('#cancel').addEventListener('click', async () => {
    try {
      await api(`/orders/${orderId}`, { method: 'DELETE' });
      main.querySelector('#outcome').textContent = 'Cancelling: giving the tickets back…';
    } catch (failure) {
      payError.textContent = failure.message;
    }
  });

  renderStatus();
  tick();
  await renderTimeline();
  every(1000, signal, async () => tick());
  // The saga decides: the status follows it live (PENDING until confirmed, expired, cancelled; REFUNDED later).
  every(2000, signal, refresh);
}

// With a real publishable key: Stripe.js's Payment Element (deferred intent), loaded from Stripe as its terms require.
async function mountPaymentElement(publishableKey, order, main) {
  await new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = 'https://js.stripe.com/v3/';
    script.onload = resolve;
    script.onerror = reject;
    document.head.append(script);
  });
  const stripe = window.Stripe(publishableKey);
  const elements = stripe.elements({ mode: 'payment', amount: order.amount, currency: order.currency.toLowerCase(), paymentMethodCreation: 'manual' });
  elements.create('payment').mount(main.querySelector('#payment-element'));
  const fail = error => Object.assign(new Error(error.message), { stripe: true });
  return {
    async createPaymentMethodId() {
      const submitted = await elements.submit();
      if (submitted.error) throw fail(submitted.error);
      const { paymentMethod, error } = await stripe.createPaymentMethod({ elements });
      if (error) throw fail(error);
      return paymentMethod.id;
    },
    async handleNextAction({ clientSecret }) {
      const { error } = await stripe.handleNextAction({ clientSecret });
      if (error) throw fail(error);
    },
  };
}
