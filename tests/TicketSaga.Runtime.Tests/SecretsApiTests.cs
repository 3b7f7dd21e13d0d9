using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Secrets;

namespace TicketSaga.Runtime.Tests;

/// <summary>The Dapr secrets API through the real SDK (gRPC) and over HTTP, as daprd answers it.</summary>
public sealed class SecretsApiTests(DaprApiFixture dapr) : IClassFixture<DaprApiFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetSecretAsync_reads_a_local_file_secret_and_a_nested_one_by_the_separator()
    {
        Assert.Equal(new Dictionary<string, string> { ["db-password"] = "s3cret" }, await dapr.Client.GetSecretAsync("secretstore", "db-password", cancellationToken: Cancel));
        Assert.Equal(new Dictionary<string, string> { ["stripe:api-key"] = "sk_test_1" }, await dapr.Client.GetSecretAsync("secretstore", "stripe:api-key", cancellationToken: Cancel));
    }

    [Fact]
    public async Task GetBulkSecretAsync_answers_every_secret_the_scopes_allow_and_leaves_out_a_denied_one()
    {
        var secrets = await dapr.Client.GetBulkSecretAsync("secretstore", cancellationToken: Cancel);

        Assert.Equal(["db-password", "stripe:api-key", "stripe:webhook"], secrets.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("whsec_1", secrets["stripe:webhook"]["stripe:webhook"]);
    }

    [Fact]
    public async Task A_secret_the_scopes_deny_is_refused_with_PermissionDenied_and_403()
    {
        var refused = await Assert.ThrowsAsync<DaprException>(() => dapr.Client.GetSecretAsync("secretstore", "admin-password", cancellationToken: Cancel));
        using var http = dapr.CreateHttpClient();
        using var answer = await http.GetAsync("/v1.0/secrets/secretstore/admin-password", Cancel);

        Assert.Equal(StatusCode.PermissionDenied, Assert.IsType<RpcException>(refused.InnerException).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Equal("ERR_PERMISSION_DENIED", (await answer.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
    }

    [Fact]
    public async Task The_environment_store_reads_variables_with_its_prefix_removed()
    {
        var secret = await dapr.Client.GetSecretAsync("envsecrets", "API_KEY", cancellationToken: Cancel);

        Assert.Equal(new Dictionary<string, string> { ["API_KEY"] = "key-from-the-environment" }, secret);
    }

    [Fact]
    public async Task Over_http_a_secret_its_bulk_and_an_unknown_store_answer_as_daprd()
    {
        using var http = dapr.CreateHttpClient();

        var secret = await http.GetFromJsonAsync<Dictionary<string, string>>("/v1.0/secrets/secretstore/db-password", Cancel);
        var bulk = await http.GetFromJsonAsync<Dictionary<string, Dictionary<string, string>>>("/v1.0/secrets/secretstore/bulk", Cancel);
        using var unknown = await http.GetAsync("/v1.0/secrets/vault/db-password", Cancel);
        using var missing = await http.GetAsync("/v1.0/secrets/secretstore/no-such-secret", Cancel);

        Assert.Equal(new Dictionary<string, string> { ["db-password"] = "s3cret" }, secret);
        Assert.Equal("sk_test_1", bulk!["stripe:api-key"]["stripe:api-key"]);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("ERR_SECRET_STORE_NOT_FOUND", (await unknown.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, missing.StatusCode);
        Assert.Equal("ERR_SECRET_GET", (await missing.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
    }

    [Fact]
    public void A_component_metadata_secretKeyRef_is_read_from_its_auth_secret_store()
    {
        var resources = dapr.Host.Runtime.Services.GetRequiredService<RuntimeResources>();
        var statestore = resources.Components.Single(c => c.Name == "statestore");

        Assert.Null(statestore.MetadataValue("connectionString"));
        Assert.Equal("s3cret", SecretStores.ResolveMetadata(statestore, resources)["connectionString"]);
    }
}
