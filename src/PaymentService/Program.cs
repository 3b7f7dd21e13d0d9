using TicketSaga.PaymentService;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddRequestSafety();
builder.UseAppPort(AppProtocol.Http);
builder.AddPostgres("payments", typeof(Program).Assembly);
builder.AddJwtAuthentication();
builder.Services.AddDaprClient();
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
app.UseAuthentication();
app.UseAuthorization();
app.MapPaymentsApi();
app.MapStripeWebhook();
app.MapOrderEvents();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
