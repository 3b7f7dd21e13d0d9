namespace TicketSaga.Deployment.Tests;

public sealed class SecretTests
{
    // The compose file's throwaway local database password, repeated in components/local/secrets.json
    // and in the connection string the `apps` profile gives the apps.
    private static readonly HashSet<string> ComposePlaceholders = ["postgres", "Host=postgres;Port=5432;Username=postgres;Password=postgres"];

    public static TheoryData<string> YamlFiles { get; } = [.. Repository.YamlFiles().Select(Repository.Relative)];

    [Theory]
    [MemberData(nameof(YamlFiles))]
    public void No_secret_value_is_written_in_yaml(string file)
    {
        var placeholders = file == "deploy/compose.yaml" ? ComposePlaceholders : [];

        var findings = Yaml.LoadAll(Repository.PathOf(file)).SelectMany(d => SecretScanner.Scan(d, placeholders))
            .Concat(SecretScanner.ScanText(File.ReadAllText(Repository.PathOf(file))));

        Assert.Empty(findings);
    }

    [Fact]
    public void No_real_credential_is_in_the_helm_templates_or_the_local_secrets_file()
    {
        var files = Repository.HelmTemplates().Append(Repository.PathOf("components", "local", "secrets.json"))
            .Append(Repository.PathOf("deploy", "compose", "components", "secrets.json"));

        Assert.All(files, file => Assert.Empty(SecretScanner.ScanText(File.ReadAllText(file))));
    }

    [Theory]
    [InlineData("stripe:\n  apiKey: abc123")]
    [InlineData("postgres:\n  password: hunter2")]
    [InlineData("env:\n  ConnectionStrings__Postgres: Host=db;Password=x")]
    [InlineData("spec:\n  metadata:\n    - name: saslPassword\n      value: s3cret")]
    [InlineData("auth:\n  signingKey: c2VjcmV0LXNpZ25pbmcta2V5LWZvci10aWNrZXRzYWdhLWRldg")]
    [InlineData("config:\n  anything: c2VjcmV0LXNpZ25pbmcta2V5LWZvci10aWNrZXRzYWdhLWRldg==")]
    public void The_scanner_finds_literal_credentials(string yaml)
    {
        Assert.NotEmpty(SecretScanner.Scan(Yaml.Parse(yaml), new HashSet<string>()));
    }

    [Theory]
    [InlineData("stripe:\n  existingSecret: ticketsaga-stripe\n  apiKeyKey: api-key\n  webhookSecretKey: webhook-secret")]
    [InlineData("spec:\n  metadata:\n    - name: saslPassword\n      secretKeyRef:\n        name: kafka\n        key: password")]
    [InlineData("auth:\n  signingKey:\n    existingSecret: ''\n    key: signing-key")]
    public void The_scanner_accepts_references_to_secrets(string yaml)
    {
        Assert.Empty(SecretScanner.Scan(Yaml.Parse(yaml), new HashSet<string>()));
    }

    [Theory]
    [InlineData("sk_live_51Habcdef")]
    [InlineData("sk_test_4eC39HqLyjWDarjtT1zdp7dc")]
    [InlineData("whsec_abc123")]
    public void The_scanner_finds_stripe_keys_anywhere(string text)
    {
        Assert.NotEmpty(SecretScanner.ScanText($"note: {text}"));
    }
}
