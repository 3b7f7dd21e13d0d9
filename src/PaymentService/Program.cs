using TicketSaga.Outbox;
using TicketSaga.PaymentService;
using TicketSaga.PaymentService.Events;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Http);
builder.AddPostgres("payments", typeof(OutboxRelay).Assembly, typeof(Program).Assembly);
builder.AddJwtAuthentication();
builder.AddApplicationServices();

var app = builder.Build();

app.UseAuthentication();
app.UseAuthorization();
app.MapPaymentsApi();
app.MapStripeWebhook();
app.MapEventSubscribers();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
