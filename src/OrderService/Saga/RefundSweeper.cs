using Microsoft.Extensions.Options;
using TicketSaga.OrderService.Orders;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// At start-up and every SweepInterval: every CONFIRMED order with a refund recorded gets its
/// <see cref="OrderRefund"/> (again) — the process died before starting it, the runtime lost it, it
/// failed, or the refund came while the order was still PENDING and its saga confirmed it since.
/// </summary>
public sealed class RefundSweeper(
    OrderStore orders, OrderRefunds refunds, TimeProvider clock, IOptions<OrderOptions> options, ILogger<RefundSweeper> logger)
    : PeriodicPass(options.Value.SweepInterval, clock, logger)
{
    protected override async Task RunPassAsync(CancellationToken cancellationToken)
    {
        foreach (var order in await orders.ListRefundOwedAsync(limit: 500, cancellationToken))
        {
            await refunds.EnsureRunningAsync(order, cancellationToken);
        }
    }
}
