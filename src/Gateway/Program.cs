using TicketSaga.Gateway;
using TicketSaga.Gateway.Catalog;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Http, AppExposure.Public);
builder.AddPostgres("gateway", typeof(Program).Assembly);
builder.AddJwtAuthentication();
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
app.UseGatewayPipeline();
app.MapDefaultEndpoints();
app.MapPublicApiDocs();
app.MapCatalogApi();
app.MapOrderAndPaymentProxy();

app.Run();

/// <summary>Visible to the tests, which host the gateway in-process.</summary>
public partial class Program;
