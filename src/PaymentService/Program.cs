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
// gRPC serves only health here: its catch-all for unknown services must not answer POST /payments/confirm (415 expected).
builder.Services.Configure<Grpc.AspNetCore.Server.GrpcServiceOptions>(options => options.IgnoreUnknownServices = true);

var app = builder.Build();

app.UseRequestSafety();
// An error without a body of its own (no route for a malformed id, 415) still answers problem details.
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.MapPaymentsApi();
app.MapPaymentAttemptsApi();
app.MapStripeWebhook();
app.MapEventSubscribers();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
