using TicketSaga.ExpirationService;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddRequestSafety();
builder.UseAppPort(AppProtocol.Http);
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
app.UseCloudEvents();
app.MapActorsHandlers();
app.MapOrderEventSubscribers();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
