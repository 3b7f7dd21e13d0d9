using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class JwtAuthenticationTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080/")]
    [InlineData("http://localhost:8080/realms/ticketsaga")]
    public void A_provider_on_this_machine_may_serve_its_metadata_over_plain_http_in_development(string authority)
    {
        var options = BearerOptions("Development", new() { ["Auth:Authority"] = authority });

        Assert.False(options.RequireHttpsMetadata);
        Assert.Equal(authority, options.Authority);
    }

    [Theory]
    [InlineData("Development", "http://idp.example.org/")]
    [InlineData("Production", "http://127.0.0.1:8080/")]
    public void Anywhere_else_a_provider_over_plain_http_is_refused_at_start(string environment, string authority)
    {
        var error = Assert.Throws<InvalidOperationException>(() => BearerOptions(environment, new() { ["Auth:Authority"] = authority }));

        Assert.Contains("must use HTTPS", error.Message);
    }

    [Fact]
    public void A_provider_over_https_is_used_with_https_metadata()
    {
        var options = BearerOptions("Production", new() { ["Auth:Authority"] = "https://idp.example.org/" });

        Assert.True(options.RequireHttpsMetadata);
    }

    [Fact]
    public void With_a_provider_the_issuer_is_the_providers_not_the_development_one()
    {
        var options = BearerOptions("Production", new() { ["Auth:Authority"] = "https://idp.example.org/" });

        Assert.Null(options.TokenValidationParameters.ValidIssuer);
    }

    [Fact]
    public void With_a_provider_an_issuer_set_on_purpose_is_kept()
    {
        var options = BearerOptions("Production", new() { ["Auth:Authority"] = "https://idp.example.org/", ["Auth:Issuer"] = "https://idp.example.org/tenant/v2.0" });

        Assert.Equal("https://idp.example.org/tenant/v2.0", options.TokenValidationParameters.ValidIssuer);
    }

    [Fact]
    public void The_development_key_is_refused_outside_development()
    {
        var error = Assert.Throws<InvalidOperationException>(() => BearerOptions("Production", new() { ["Auth:SigningKey"] = DevTokens.NewSigningKey() }));

        Assert.Contains("refused in environment 'Production'", error.Message);
    }

    private static JwtBearerOptions BearerOptions(string environment, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddJwtAuthentication();
        using var services = builder.Services.BuildServiceProvider();
        return services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme);
    }
}
