using TicketSaga.Gateway;
using TicketSaga.Gateway.Catalog;
using TicketSaga.Gateway.Storefront;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
// Whoever reaches the development sign-in can be any user: with it on, only this machine (APP_LISTEN_ADDRESS says otherwise).
builder.UseAppPort(AppProtocol.Http,
    StorefrontApi.DevelopmentSignInEnabled(builder.Environment, AuthSettings.From(builder.Configuration)) ? AppExposure.Sidecar : AppExposure.Public);
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
