using TicketSaga.OrderService;
using TicketSaga.OrderService.Events;
using TicketSaga.OrderService.Orders;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Http);
builder.AddPostgres("orders", typeof(OutboxRelay).Assembly, typeof(Program).Assembly);
builder.AddJwtAuthentication();
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
// An error without a body of its own (no route for a malformed id, 415) still answers problem details.
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.MapOrdersApi();
app.MapOrderStateApi();
app.MapEventSubscribers();
app.MapDefaultEndpoints();

app.Run();

/// <summary>Visible to the tests, which host the service in-process.</summary>
public partial class Program;
