using TicketSaga.TicketService.Reservations;
using TicketSaga.TicketService.TicketTypes;

namespace TicketSaga.TicketService;

public static class TicketServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.Configure<ReservationOptions>(builder.Configuration.GetSection(ReservationOptions.Section));
        builder.Services.AddSingleton<TicketTypeCatalog>();
        builder.Services.AddSingleton<EventCatalog>();
        builder.Services.AddSingleton<QuotaReservations>();
        builder.Services.AddSingleton<ReservationLedger>();
        builder.Services.AddSingleton<ReserveQuotaBatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReserveQuotaBatcher>());
        builder.Services.AddSingleton<ReleaseBatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReleaseBatcher>());
        builder.Services.AddSingleton<FinalizeBatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FinalizeBatcher>());
        builder.Services.AddHostedService<AbandonedHoldReclaimer>();
        return builder;
    }
}
