using TicketSaga.Gateway;
using TicketSaga.Gateway.Catalog;
using TicketSaga.Gateway.Storefront;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Http, AppExposure.Public);
builder.AddPostgres("gateway", typeof(Program).Assembly);
builder.AddJwtAuthentication();
builder.AddApplicationServices();
builder.AddStorefront();

var app = builder.Build();

app.UseRequestSafety();
app.UseResponsePolicy();
app.UseStorefrontFiles();
app.UseGatewayPipeline();
app.MapDefaultEndpoints();
app.MapPublicApiDocs();
app.MapCatalogApi();
app.MapStorefrontApi();
app.MapOrderAndPaymentProxy();

app.Run();

/// <summary>Visible to the tests, which host the gateway in-process.</summary>
public partial class Program;
