using TicketSaga.OrderService;
using TicketSaga.OrderService.Events;
using TicketSaga.OrderService.Orders;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddRequestSafety();
builder.UseAppPort(AppProtocol.Http);
builder.AddPostgres("orders", typeof(Program).Assembly);
builder.AddJwtAuthentication();
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
app.UseAuthentication();
app.UseAuthorization();
app.MapOrdersApi();
app.MapOrderStateApi();
app.MapEventSubscribers();
app.MapDefaultEndpoints();

app.Run();

/// <summary>Visible to the tests, which host the service in-process.</summary>
public partial class Program;
