import { api, formatMoney, formatTime, h } from './api.js';

export async function renderOrders(main, _, signal) {
  const { body } = await api('/orders?limit=50', { signal });
  main.innerHTML = h`
    <h1>My orders</h1>
    ${body.orders.length === 0 ? h`<p>No orders yet. <a href="#/">Find an event</a>.</p>` : h`
    <table>
      <caption class="visually-hidden">Your orders, newest first</caption>
      <thead><tr><th scope="col">Order</th><th scope="col">Placed</th><th scope="col">Tickets</th><th scope="col">Amount</th><th scope="col">Status</th></tr></thead>
      <tbody>
        ${body.orders.map(order => h`<tr>
          <td><a href="#/orders/${order.order_id}">Order ${order.order_id.slice(0, 8)}</a></td>
          <td>${formatTime(order.created_at)}</td>
          <td>${order.qty}${order.seats.length ? ` (${order.seats.map(s => s.label).join(', ')})` : ''}</td>
          <td>${formatMoney(order.amount, order.currency)}</td>
          <td><span class="badge status-${order.status}">${order.status}</span></td>
        </tr>`)}
      </tbody>
    </table>`}`;
}
