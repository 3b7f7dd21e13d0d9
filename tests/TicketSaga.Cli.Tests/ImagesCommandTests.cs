using System.Diagnostics;
using TicketSaga.Cli.Commands;

namespace TicketSaga.Cli.Tests;

/// <summary>`ticketsaga images build`: options a user gets wrong are one clear line before anything is built.</summary>
public sealed class ImagesCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-images-").FullName;

    public ImagesCommandTests() => File.WriteAllText(Path.Combine(_folder, "dapr.yaml"), """
        version: 1
        apps:
          - appID: gateway
            appDirPath: ./src/Gateway
            appPort: 5100
            command: ["dotnet", "run"]
        """);

    [Fact]
    public async Task A_registry_given_as_a_url_is_refused_with_the_form_the_chart_uses()
    {
        var (exitCode, output, error) = await ImagesBuildAsync("--registry", "https://ghcr.io/ticketsaga");

        Assert.Equal(2, exitCode);
        Assert.Equal("--registry 'https://ghcr.io/ticketsaga' must not have a scheme: give the host and namespace as the chart's image.registry does, e.g. ghcr.io/ticketsaga or localhost:5000.\n", error);
        AssertNothingBuilt(output);
    }

    [Theory]
    [InlineData("ghcr.io/TicketSaga")]
    [InlineData("ghcr.io/ticketsaga:0.1.0")]
    [InlineData("ghcr.io/ticketsaga/")]
    [InlineData("ghcr.io/-ticketsaga")]
    [InlineData("ghcr io")]
    public async Task A_registry_that_is_not_a_host_and_lower_case_namespace_is_refused(string registry)
    {
        var (exitCode, output, error) = await ImagesBuildAsync("--registry", registry);

        Assert.Equal(2, exitCode);
        Assert.Equal($"--registry '{registry}' is not a registry: a host (with an optional :port), then an optional lower-case namespace, e.g. ghcr.io/ticketsaga or localhost:5000; no tag.\n", error);
        AssertNothingBuilt(output);
    }

    [Theory]
    [InlineData("bad tag")]
    [InlineData("0.1.0+build5")]
    [InlineData(".hidden")]
    [InlineData("0.1.0:latest")]
    [InlineData("")]
    public async Task A_tag_docker_would_refuse_is_refused_before_building(string tag)
    {
        var (exitCode, output, error) = await ImagesBuildAsync("--registry", "localhost:5000", "--tag", tag);

        Assert.Equal(2, exitCode);
        Assert.Equal($"--tag '{tag}' is not an image tag: at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-', e.g. 0.1.0.\n", error);
        AssertNothingBuilt(output);
    }

    [Fact]
    public async Task A_tag_longer_than_128_characters_is_refused()
    {
        var (exitCode, _, error) = await ImagesBuildAsync("--tag", new string('a', 129));

        Assert.Equal(2, exitCode);
        Assert.StartsWith("--tag 'aaaa", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_archive_path_that_is_a_file_is_refused()
    {
        var file = Path.Combine(_folder, "images.tar");
        File.WriteAllText(file, "");

        var (exitCode, output, error) = await ImagesBuildAsync("--archive", file);

        Assert.Equal(2, exitCode);
        Assert.Equal($"--archive '{file}' must name a folder for the tarballs.\n", error);
        AssertNothingBuilt(output);
    }

    [Fact]
    public async Task Outside_the_repository_it_says_where_to_run_it()
    {
        File.Delete(Path.Combine(_folder, "dapr.yaml"));

        var (exitCode, output, error) = await ImagesBuildAsync("--registry", "localhost:5000");

        Assert.Equal(2, exitCode);
        Assert.Equal("No dapr.yaml in this folder or above it: run `ticketsaga images build` inside the TicketSaga repository.\n", error);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("ghcr.io/ticketsaga", "0.1.0")]
    [InlineData("localhost:5000", "dev")]
    [InlineData("registry.example.com:443/team/ticket_saga", "1.2.3-rc.1_b")]
    [InlineData("my-registry/a__b/c.d", "V1")]
    public void Registries_and_tags_of_the_reference_grammar_are_accepted(string registry, string tag)
    {
        Assert.Null(ImageTarget.Validate(registry, tag, archive: null));
    }

    [Fact]
    public void A_namespaced_registry_is_split_into_the_sdks_registry_host_and_repository()
    {
        var target = new ImageTarget("ghcr.io/ticketsaga", "0.2.0", ArchiveFolder: null);

        Assert.Equal(
            ["publish", "/repo/src/OrderService", "-c", "Release", "-t:PublishContainer", "-nologo", "-v", "q",
             "-p:ContainerRepository=ticketsaga/order-service", "-p:ContainerImageTag=0.2.0", "-p:ContainerRegistry=ghcr.io"],
            target.PublishArguments("order-service", "/repo/src/OrderService"));
        Assert.Equal("ghcr.io/ticketsaga/order-service:0.2.0", target.ImageName("order-service"));
    }

    [Fact]
    public void Without_a_registry_each_image_is_a_tarball_of_app_id_and_tag()
    {
        var target = new ImageTarget(Registry: null, "0.1.0", ArchiveFolder: "/repo/.ticketsaga/images");

        var arguments = target.PublishArguments("gateway", "/repo/src/Gateway");

        Assert.DoesNotContain(arguments, a => a.StartsWith("-p:ContainerRegistry=", StringComparison.Ordinal));
        Assert.Contains("-p:ContainerRepository=gateway", arguments);
        Assert.Equal("-p:ContainerArchiveOutputPath=/repo/.ticketsaga/images/gateway-0.1.0.tar", arguments[^1]);
        Assert.Equal("gateway:0.1.0", target.ImageName("gateway"));
    }

    [Fact]
    public void With_a_registry_and_an_archive_folder_the_tarball_names_the_image_without_the_registry_host()
    {
        var target = new ImageTarget("registry.example.com:5000/team", "dev", ArchiveFolder: "/out");

        var arguments = target.PublishArguments("gateway", "/repo/src/Gateway");

        Assert.Contains("-p:ContainerRegistry=registry.example.com:5000", arguments);
        Assert.Contains("-p:ContainerRepository=team/gateway", arguments);
        Assert.Equal("-p:ContainerArchiveOutputPath=/out/gateway-dev.tar", arguments[^1]);
        Assert.Equal("team/gateway:dev", target.ImageName("gateway"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void AssertNothingBuilt(string output)
    {
        Assert.Equal("", output);
        Assert.False(Directory.Exists(Path.Combine(_folder, ".ticketsaga")), "the command went on after refusing its options");
    }

    /// <summary>The built CLI (copied beside the tests), run as a user would in a folder holding a dapr.yaml.</summary>
    private async Task<(int ExitCode, string Output, string Error)> ImagesBuildAsync(params string[] options)
    {
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "ticketsaga.dll"), "images", "build", .. options])
        {
            WorkingDirectory = _folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["NO_COLOR"] = "1";
        using var cli = Process.Start(info)!;
        var output = cli.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = cli.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await cli.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (cli.ExitCode, await output, await error);
    }
}
