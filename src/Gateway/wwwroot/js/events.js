import { api, every, formatMoney, formatTime, h } from './api.js';

export async function renderEvents(main, _, signal) {
  main.innerHTML = h`<h1>Events</h1><ul class="events" id="events"></ul>`;
  const list = main.querySelector('#events');
  const refresh = async () => {
    const { body } = await api('/events', { signal });
    list.innerHTML = body.events.length === 0 ? '<li>No events on sale yet.</li>' : body.events.map(eventCard).join('');
  };
  await refresh();
  // Availability is live: the list refreshes while it is open.
  every(5000, signal, refresh);
}

export function eventTitle(event) {
  return event.name ?? `Event ${event.event_id.slice(0, 8)}`;
}

export function saleWindow(types) {
  const starts = types.map(t => t.sale_starts_at).sort()[0];
  const ends = types.map(t => t.sale_ends_at).sort().at(-1);
  return `${formatTime(starts)} – ${formatTime(ends)}`;
}

function eventCard(event) {
  const types = event.ticket_types;
  const prices = types.map(t => t.unit_price);
  const currency = types[0]?.currency ?? 'EUR';
  const available = types.reduce((sum, t) => sum + t.available, 0);
  const range = Math.min(...prices) === Math.max(...prices)
    ? formatMoney(prices[0], currency)
    : `${formatMoney(Math.min(...prices), currency)} – ${formatMoney(Math.max(...prices), currency)}`;
  return h`<li class="card">
    <h2><a href="#/events/${event.event_id}">${eventTitle(event)}</a></h2>
    <p class="meta">${event.venue ?? ''}${event.venue && event.starts_at ? ' · ' : ''}${event.starts_at ? formatTime(event.starts_at, { dateStyle: 'full', timeStyle: 'short' }) : ''}</p>
    <p class="meta">On sale ${saleWindow(types)}</p>
    <p>${range}</p>
    <p>${available > 0 ? `${available} tickets available` : ''}${available === 0 ? { raw: '<span class="soldout">Sold out</span>' } : ''}</p>
  </li>`;
}
