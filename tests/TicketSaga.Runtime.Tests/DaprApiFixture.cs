using Dapr.Client;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// A <see cref="DaprTestHost"/> for an app "shop" reading its own resources: a state.postgresql store
/// (its connectionString a secretKeyRef), a local.file secret store limited by the Configuration's
/// secrets scopes, and a local.env secret store.
/// </summary>
public sealed class DaprApiFixture(PostgresServer postgres) : IAsyncLifetime
{
    public const string AppId = "shop";

    public const string EnvironmentSecret = "SHOPTEST_API_KEY";

    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-daprapi-").FullName;

    public DaprTestHost Host { get; private set; } = null!;

    public DaprClient Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Environment.SetEnvironmentVariable(EnvironmentSecret, "key-from-the-environment");
        var secretsFile = Path.Combine(_folder, "secrets.json");
        await File.WriteAllTextAsync(secretsFile, """
            {"db-password": "s3cret", "stripe": {"api-key": "sk_test_1", "webhook": "whsec_1"}, "admin-password": "root"}
            """);
        await File.WriteAllTextAsync(Path.Combine(_folder, "components.yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: statestore
            spec:
              type: state.postgresql
              version: v2
              metadata:
                - name: connectionString
                  secretKeyRef:
                    name: db-password
                    key: db-password
            auth:
              secretStore: secretstore
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: secretstore
            spec:
              type: secretstores.local.file
              version: v1
              metadata:
                - name: secretsFile
                  value: "{secretsFile}"
                - name: nestedSeparator
                  value: ":"
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: envsecrets
            spec:
              type: secretstores.local.env
              version: v1
              metadata:
                - name: prefix
                  value: SHOPTEST_
            """);
        var configuration = Path.Combine(_folder, "configuration.yaml");
        await File.WriteAllTextAsync(configuration, """
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: shop
            spec:
              secrets:
                scopes:
                  - storeName: secretstore
                    defaultAccess: allow
                    deniedSecrets: ["admin-password"]
            """);
        Host = await DaprTestHost.StartAsync(AppId, new DaprTestHostOptions
        {
            PostgresConnectionString = postgres.ConnectionString,
            ResourcesPaths = [_folder],
            ConfigFilePath = configuration,
        });
        Client = Host.CreateDaprClient();
    }

    public HttpClient CreateHttpClient() => new() { BaseAddress = Host.HttpEndpoint };

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
