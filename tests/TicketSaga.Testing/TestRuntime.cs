using Npgsql;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Testing;

/// <summary>The repository's own component files, as the tests' embedded runtimes read them.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>What every environment shares: resiliency and subscriptions.</summary>
    public static string SharedComponents { get; } = Path.Combine(Root, "components");

    /// <summary>What `ticketsaga up` reads: the shared resources and the embedded environment's components.</summary>
    public static IReadOnlyList<string> EmbeddedResources { get; } = [SharedComponents, Path.Combine(SharedComponents, "embedded")];

    /// <summary>The Configuration dapr.yaml names (configFilePath): its accessControl applies on every runtime.</summary>
    public static string Configuration { get; } = Path.Combine(SharedComponents, "local", "configuration.yaml");

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "TicketSaga.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("TicketSaga.sln not found above " + AppContext.BaseDirectory);
    }
}

public static class TestRuntime
{
    /// <summary>
    /// A runtime on the database of <paramref name="connectionString"/>, reading <see cref="Repository.EmbeddedResources"/>
    /// unless told otherwise, and applying the accessControl of <paramref name="configFilePath"/> if given.
    /// </summary>
    public static RuntimeOptions Options(string connectionString, IReadOnlyList<string>? resourcesPaths = null, string? configFilePath = null) => new()
    {
        PostgresConnectionString = connectionString,
        Database = new NpgsqlConnectionStringBuilder(connectionString).Database!,
        ResourcesPaths = resourcesPaths ?? Repository.EmbeddedResources,
        ConfigFilePath = configFilePath,
    };
}
