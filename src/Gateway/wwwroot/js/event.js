import { announce, api, ApiError, every, formatMoney, formatTime, h, isWaitingRoom, session, sleep } from './api.js';
import { eventTitle, saleWindow } from './events.js';

const SEAT = 30;
const GAP = 8;
const LABEL = 28;
const STAGE = 34;

export async function renderEvent(main, [eventId], signal) {
  let event = await findEvent(eventId, signal);
  if (!event) {
    main.innerHTML = h`<h1>Event not found</h1><p><a href="#/">Back to the events</a></p>`;
    return;
  }
  let seatMap = event.seat_plan_id ? (await api(`/events/${eventId}/seats`, { signal })).body : null;
  const selected = new Set();
  let focusedSeat = null;
  // An order is being placed (or waits in the queue): the form's live refresh must not offer the button again.
  let placing = false;

  main.innerHTML = h`
    <p><a href="#/"><span aria-hidden="true">← </span>All events</a></p>
    <h1>${eventTitle(event)}</h1>
    <p class="meta">${event.venue ?? ''}${event.starts_at ? ` · ${formatTime(event.starts_at, { dateStyle: 'full', timeStyle: 'short' })}` : ''}</p>
    <p class="meta">On sale ${saleWindow(event.ticket_types)}</p>
    <form id="buy" class="card" novalidate>
      <fieldset>
        <legend>Ticket type</legend>
        ${event.ticket_types.map(type => h`
          <div class="choice">
            <input type="radio" name="ticket" id="type-${type.ticket_id}" value="${type.ticket_id}">
            <label for="type-${type.ticket_id}"><strong>${type.name}</strong> · ${formatMoney(type.unit_price, type.currency)}
              <span class="meta" id="avail-${type.ticket_id}"></span></label>
          </div>`)}
      </fieldset>
      <fieldset id="pick-mode" hidden>
        <legend>Seats</legend>
        <div class="choice"><input type="radio" name="mode" id="mode-map" value="map" checked><label for="mode-map">Choose seats on the map</label></div>
        <div class="choice"><input type="radio" name="mode" id="mode-best" value="best"><label for="mode-best">Best available seats</label></div>
      </fieldset>
      <section id="map-section" hidden aria-labelledby="map-heading">
        <h2 id="map-heading"></h2>
        <ul class="legend" aria-label="Seat colours">
          ${['available', 'selected', 'held', 'sold'].map(state => h`<li>${{ raw: swatch(state) }}${state[0].toUpperCase() + state.slice(1)}</li>`)}
        </ul>
        <p id="map-help" class="meta">Click a seat, or use the arrow keys to move between seats and Space to select one.</p>
        <div id="seat-map"></div>
        <p id="selection" aria-live="polite"></p>
      </section>
      <div id="quantity-field">
        <label for="quantity">Quantity</label>
        <input type="number" id="quantity" name="quantity" min="1" value="1" inputmode="numeric" aria-describedby="quantity-hint">
        <p id="quantity-hint" class="meta"></p>
      </div>
      <p class="alert" role="alert" id="buy-error"></p>
      <p class="notice" role="status" id="queue"></p>
      <div class="actions"><button type="submit" id="hold">Hold tickets</button></div>
    </form>`;

  const form = main.querySelector('#buy');
  const firstOnSale = event.ticket_types.find(onSale) ?? event.ticket_types[0];
  form.querySelector(`#type-${firstOnSale.ticket_id}`).checked = true;

  const chosenType = () => event.ticket_types.find(t => t.ticket_id === form.ticket.value);
  const mapMode = () => !!chosenType()?.section && form.mode.value === 'map';
  const limit = type => Math.max(0, Math.min(type.max_per_user, type.available));

  function renderAvailability() {
    for (const type of event.ticket_types) {
      const radio = form.querySelector(`#type-${type.ticket_id}`);
      radio.disabled = !onSale(type);
      form.querySelector(`#avail-${type.ticket_id}`).textContent = type.available === 0 ? '· Sold out'
        : !onSale(type) ? '· Not on sale now' : `· ${type.available} available · at most ${type.max_per_user} per buyer`;
    }
  }

  function renderForm() {
    const type = chosenType();
    const seated = !!type.section;
    form.querySelector('#pick-mode').hidden = !seated;
    form.querySelector('#map-section').hidden = !mapMode();
    form.querySelector('#quantity-field').hidden = mapMode();
    const quantity = form.quantity;
    quantity.max = String(Math.max(1, limit(type)));
    form.querySelector('#quantity-hint').textContent = `At most ${type.max_per_user} per buyer.`;
    const hold = form.querySelector('#hold');
    hold.disabled = placing || !onSale(type) || (mapMode() && selected.size === 0);
    hold.textContent = !session.get() ? 'Sign in to buy' : mapMode() ? `Hold ${selected.size || ''} selected seat${selected.size === 1 ? '' : 's'}`.replace('  ', ' ') : 'Hold tickets';
    if (mapMode()) renderSeats();
  }

  function renderSeats() {
    const type = chosenType();
    form.querySelector('#map-heading').textContent = `Seat map: ${type.section}`;
    const seats = seatMap.seats.filter(s => s.section === type.section);
    const rows = [...new Set(seats.map(s => s.row))].sort();
    const columns = Math.max(...seats.map(s => s.number));
    const width = LABEL + columns * (SEAT + GAP);
    const height = STAGE + rows.length * (SEAT + GAP);
    const container = form.querySelector('#seat-map');
    if (container.dataset.section !== type.section) {
      container.dataset.section = type.section;
      selected.clear();
      focusedSeat = null;
      container.innerHTML = h`<svg class="seatmap" viewBox="0 0 ${width} ${height}" role="group" aria-labelledby="map-heading" aria-describedby="map-help">
        <rect class="stage" x="${LABEL}" y="0" width="${width - LABEL}" height="${STAGE - 12}" rx="4"></rect>
        <text class="stage-label" x="${LABEL + (width - LABEL) / 2}" y="${(STAGE - 12) / 2 + 4}" text-anchor="middle" aria-hidden="true">Stage</text>
        ${rows.map((row, r) => h`<text class="row-label" x="4" y="${STAGE + r * (SEAT + GAP) + SEAT / 2 + 4}" aria-hidden="true">${row}</text>`)}
        ${seats.map(seat => {
          const x = LABEL + (seat.number - 1) * (SEAT + GAP);
          const y = STAGE + rows.indexOf(seat.row) * (SEAT + GAP);
          return h`<rect class="seat" id="seat-${seat.seat_id}" data-seat="${seat.seat_id}" data-row="${rows.indexOf(seat.row)}" data-number="${seat.number}"
            role="checkbox" tabindex="-1" x="${x}" y="${y}" width="${SEAT}" height="${SEAT}" rx="6"></rect>
            <path class="seat-mark" id="mark-${seat.seat_id}" data-x="${x}" data-y="${y}"></path>`;
        })}
      </svg>`;
    }
    for (const seat of seats) paintSeat(container, seat);
    const focusable = seats.find(s => s.seat_id === focusedSeat) ?? seats.find(s => s.status === 'available') ?? seats[0];
    container.querySelectorAll('.seat').forEach(rect => { rect.tabIndex = rect.dataset.seat === focusable?.seat_id ? 0 : -1; });
    const labels = seats.filter(s => selected.has(s.seat_id)).map(s => s.label);
    form.querySelector('#selection').textContent = labels.length ? `Selected: ${labels.join(', ')}` : 'No seats selected.';
  }

  function paintSeat(container, seat) {
    const rect = container.querySelector(`#seat-${CSS.escape(seat.seat_id)}`);
    const mark = container.querySelector(`#mark-${CSS.escape(seat.seat_id)}`);
    const state = selected.has(seat.seat_id) ? 'selected' : seat.status;
    rect.setAttribute('class', `seat ${state}`);
    rect.setAttribute('aria-checked', String(selected.has(seat.seat_id)));
    rect.setAttribute('aria-disabled', String(seat.status !== 'available'));
    rect.setAttribute('aria-label', `Row ${seat.row}, seat ${seat.number} (${seat.label}), ${seat.status === 'available' ? (selected.has(seat.seat_id) ? 'selected' : 'available') : seat.status}`);
    mark.setAttribute('class', `seat-mark ${state}`);
    mark.setAttribute('d', markPath(state, Number(mark.dataset.x), Number(mark.dataset.y)));
  }

  function toggleSeat(seatId) {
    const seat = seatMap.seats.find(s => s.seat_id === seatId);
    focusedSeat = seatId;
    if (seat.status !== 'available') {
      announce(`Seat ${seat.label} is ${seat.status}.`);
    } else if (selected.has(seatId)) {
      selected.delete(seatId);
    } else if (selected.size >= limit(chosenType())) {
      announce(`You can choose at most ${limit(chosenType())} seats.`);
    } else {
      selected.add(seatId);
    }
    renderForm();
    form.querySelector(`#seat-${CSS.escape(seatId)}`).focus();
  }

  function moveFocus(from, key) {
    const rects = [...form.querySelectorAll('.seat')];
    const row = Number(from.dataset.row);
    const number = Number(from.dataset.number);
    const at = (r, n) => rects.find(rect => Number(rect.dataset.row) === r && Number(rect.dataset.number) === n);
    const sameRow = rects.filter(rect => Number(rect.dataset.row) === row).map(rect => Number(rect.dataset.number));
    const target = {
      ArrowLeft: () => at(row, number - 1),
      ArrowRight: () => at(row, number + 1),
      ArrowUp: () => at(row - 1, number) ?? rects.filter(r => Number(r.dataset.row) === row - 1).at(-1),
      ArrowDown: () => at(row + 1, number) ?? rects.filter(r => Number(r.dataset.row) === row + 1).at(-1),
      Home: () => at(row, Math.min(...sameRow)),
      End: () => at(row, Math.max(...sameRow)),
    }[key]?.();
    if (target) {
      rects.forEach(rect => { rect.tabIndex = rect === target ? 0 : -1; });
      focusedSeat = target.dataset.seat;
      target.focus();
    }
  }

  const mapContainer = form.querySelector('#seat-map');
  mapContainer.addEventListener('click', e => e.target.dataset?.seat && toggleSeat(e.target.dataset.seat));
  mapContainer.addEventListener('keydown', e => {
    if (!e.target.dataset?.seat) return;
    if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      toggleSeat(e.target.dataset.seat);
    } else if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key)) {
      e.preventDefault();
      moveFocus(e.target, e.key);
    }
  });
  form.addEventListener('change', e => {
    if (e.target.name === 'ticket' || e.target.name === 'mode') renderForm();
  });
  form.addEventListener('submit', async e => {
    e.preventDefault();
    if (!session.get()) {
      location.hash = `#/sign-in?return=${encodeURIComponent(location.hash)}`;
      return;
    }
    const type = chosenType();
    const error = form.querySelector('#buy-error');
    error.textContent = '';
    const qty = mapMode() ? selected.size : Number(form.quantity.value);
    if (!Number.isInteger(qty) || qty < 1 || qty > limit(type)) {
      error.textContent = `Choose between 1 and ${limit(type)} tickets.`;
      form.quantity.focus();
      return;
    }
    const body = mapMode() ? { ticket_id: type.ticket_id, qty, seat_ids: [...selected] }
      : type.section ? { ticket_id: type.ticket_id, qty, section: type.section } : { ticket_id: type.ticket_id, qty };
    const hold = form.querySelector('#hold');
    const queue = form.querySelector('#queue');
    placing = true;
    hold.disabled = true;
    // One request, however often it is sent: the same key, and the queue's token once the room has given one.
    const idempotencyKey = crypto.randomUUID();
    let queueToken;
    while (!signal.aborted) {
      try {
        const { body: order } = await api('/orders', { method: 'POST', body, idempotencyKey, queueToken });
        location.hash = `#/orders/${order.order_id}`;
        return;
      } catch (failure) {
        if (isWaitingRoom(failure)) {
          queueToken = failure.problem.queue_token;
          const seconds = Math.max(1, failure.retryAfter);
          queue.textContent = `You are number ${failure.problem.position} in the queue. Keep this page open: we ask again in ${seconds} s.`;
          await sleep(seconds * 1000);
          continue;
        }
        queue.textContent = '';
        placing = false;
        if (!(failure instanceof ApiError)) throw failure;
        error.textContent = failure.message;
        await refresh();
        return;
      }
    }
  });

  // Seats every turn, ticket availability every fifth: both stay well inside the per-user rate limit.
  let turn = 0;
  async function refresh() {
    const readTypes = !event.seat_plan_id || turn++ % 5 === 0;
    const [latest, map] = await Promise.all([
      readTypes ? findEvent(eventId, signal) : null,
      event.seat_plan_id ? api(`/events/${eventId}/seats`, { signal }).then(r => r.body) : null,
    ]);
    event = { ...event, ticket_types: latest?.ticket_types ?? event.ticket_types };
    if (map) {
      const taken = map.seats.filter(s => selected.has(s.seat_id) && s.status !== 'available');
      taken.forEach(s => selected.delete(s.seat_id));
      if (taken.length) announce(`Seat${taken.length > 1 ? 's' : ''} ${taken.map(s => s.label).join(', ')} just went to someone else.`);
      seatMap = map;
    }
    renderAvailability();
    renderForm();
  }

  renderAvailability();
  renderForm();
  // Live: seats turn held and sold as other buyers act, and come back when their holds end.
  every(2000, signal, refresh);
}

async function findEvent(eventId, signal) {
  return (await api('/events', { signal })).body.events.find(e => e.event_id === eventId);
}

function onSale(type) {
  const now = new Date();
  return type.available > 0 && new Date(type.sale_starts_at) <= now && now < new Date(type.sale_ends_at);
}

// Shapes as well as colours: a tick for selected, a cross for sold, a slash for held.
function markPath(state, x, y) {
  const s = SEAT;
  switch (state) {
    case 'selected': return `M${x + 8} ${y + 15} l5 6 l10 -12`;
    case 'sold': return `M${x + 8} ${y + 8} L${x + s - 8} ${y + s - 8} M${x + s - 8} ${y + 8} L${x + 8} ${y + s - 8}`;
    case 'held': return `M${x + 8} ${y + s - 8} L${x + s - 8} ${y + 8}`;
    default: return '';
  }
}

function swatch(state) {
  return `<svg width="20" height="20" viewBox="0 0 30 30" aria-hidden="true"><rect class="swatch ${state}" x="1" y="1" width="28" height="28" rx="6"></rect><path class="seat-mark ${state}" d="${markPath(state, 0, 0)}"></path></svg>`;
}
