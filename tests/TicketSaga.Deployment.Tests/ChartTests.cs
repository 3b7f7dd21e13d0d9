using System.Globalization;
using System.Text.RegularExpressions;
using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

/// <summary>
/// deploy/helm/ticketsaga. No helm binary runs here, so templates are checked as text against
/// values.yaml (every value they read exists; they map values to resources as DaprEnvironment
/// models them) and the values files are checked as data.
/// </summary>
public sealed partial class ChartTests
{
    private static readonly string[] StatelessApps = [AppIds.Gateway, AppIds.TicketService, AppIds.VenueService, AppIds.PaymentService];

    public static TheoryData<string> ValuesFiles { get; } = ["values.yaml", "values-dev.yaml", "values-prod.yaml"];

    public static TheoryData<string> Templates { get; } = [.. Repository.HelmTemplates().Select(Path.GetFileName).OfType<string>().Where(f => f != "_helpers.tpl")];

    [Fact]
    public void The_chart_is_a_helm_3_application_chart()
    {
        var chart = Yaml.Load(Repository.ChartPath("Chart.yaml"));

        Assert.Equal(("v2", "ticketsaga", "application"), (chart.Text("apiVersion"), chart.Text("name"), chart.Text("type")));
        Assert.Matches(@"^\d+\.\d+\.\d+$", chart.Text("version"));
        Assert.NotNull(chart.Text("appVersion"));
        Assert.True(File.Exists(Repository.ChartPath("templates", "NOTES.txt")));
    }

    [Fact]
    public void Every_app_of_the_contracts_has_a_chart_entry_and_nothing_else_does()
    {
        Assert.Equal(AppIds.All.Order(StringComparer.Ordinal), Chart.Values().MapAt("apps").Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Environment_values_only_configure_apps_of_the_contracts(string file)
    {
        var apps = Chart.Values(file).At("apps") as Map ?? new Map([]);

        Assert.All(apps.Keys, app => Assert.Contains(app, AppIds.All));
    }

    [Fact]
    public void Chart_apps_have_the_ports_and_protocols_of_dapr_yaml()
    {
        var runFile = Yaml.Load(Repository.PathOf("dapr.yaml")).Maps("apps").ToDictionary(a => a.Text("appID")!);
        var chartApps = Chart.Values().MapAt("apps");

        Assert.Equal(runFile.Keys.Order(StringComparer.Ordinal), chartApps.Keys.Order(StringComparer.Ordinal));
        Assert.All(chartApps, app =>
        {
            var settings = (Map)app.Value!;
            Assert.Equal((runFile[app.Key].Text("appPort"), runFile[app.Key].Text("appProtocol")), (settings.Text("port"), settings.Text("protocol")));
        });
    }

    [Fact]
    public void Every_app_entry_has_the_settings_the_templates_read()
    {
        string[] required = ["port", "protocol", "stateless", "replicas", "resources.requests.cpu", "resources.requests.memory", "resources.limits.memory",
            "autoscaling.enabled", "autoscaling.minReplicas", "autoscaling.maxReplicas", "autoscaling.targetCPUUtilizationPercentage",
            "pdb.enabled", "pdb.minAvailable", "stripe"];

        Assert.All(Chart.Values().MapAt("apps"), app => Assert.All(required, key =>
            Assert.True(((Map)app.Value!).At(key) is string, $"apps.{app.Key}.{key} is missing")));
    }

    [Theory]
    [InlineData("values.yaml")]
    [InlineData("values-prod.yaml")]
    public void Stateless_services_autoscale_and_keep_a_disruption_budget(string file)
    {
        var apps = Merged(file).MapAt("apps");

        foreach (var (app, value) in apps)
        {
            var settings = (Map)value!;
            var stateless = StatelessApps.Contains(app);
            Assert.Equal(stateless ? "true" : "false", settings.Text("stateless"));
            if (stateless)
            {
                Assert.Equal(("true", "true"), (settings.Text("autoscaling.enabled"), settings.Text("pdb.enabled")));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Disruption_budgets_never_block_a_node_drain(string file)
    {
        foreach (var (app, value) in Merged(file).MapAt("apps"))
        {
            var settings = (Map)value!;
            if (settings.Text("pdb.enabled") != "true")
            {
                continue;
            }

            var least = settings.Text("autoscaling.enabled") == "true" ? settings.Text("autoscaling.minReplicas") : settings.Text("replicas");
            Assert.True(int.Parse(settings.Text("pdb.minAvailable")!) < int.Parse(least!), $"{file}: {app} keeps minAvailable {settings.Text("pdb.minAvailable")} of {least} replicas");
            Assert.True(int.Parse(settings.Text("autoscaling.minReplicas")!) <= int.Parse(settings.Text("autoscaling.maxReplicas")!));
        }
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Templates_read_only_values_that_exist(string template)
    {
        var values = Chart.Values();
        var text = Chart.Template(template);
        var aliases = Alias().Matches(text).ToDictionary(
            m => m.Groups["alias"].Value,
            m => m.Groups["path"].Value.TrimStart('.') + (m.Groups["key"].Success ? "." + m.Groups["key"].Value : ""));
        var missing = new List<string>();

        foreach (Match reference in ValuesReference().Matches(text))
        {
            var path = reference.Groups["path"].Value.TrimStart('.');
            if (!Exists(values, path))
            {
                missing.Add(".Values." + path);
            }
        }

        foreach (Match reference in AliasReference().Matches(text))
        {
            var alias = reference.Groups["alias"].Value;
            var path = reference.Groups["path"].Value.TrimStart('.');
            if (alias == "app")
            {
                missing.AddRange(values.MapAt("apps").Where(a => !Exists((Map)a.Value!, path)).Select(a => $"apps.{a.Key}.{path}"));
            }
            else if (!aliases.TryGetValue(alias, out var root) || !Exists(values, $"{root}.{path}"))
            {
                missing.Add($"${alias}.{path}");
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public void Every_pod_gets_a_dapr_sidecar_configured_from_the_values()
    {
        var deployment = Chart.Template("deployments.yaml");
        string[] annotations = ["dapr.io/enabled: \"true\"", "dapr.io/app-id: {{ $id | quote }}", "dapr.io/app-port: {{ $app.port | quote }}",
            "dapr.io/app-protocol: {{ $app.protocol | quote }}", "dapr.io/config: {{ $.Values.dapr.config | quote }}",
            "dapr.io/log-level:", "dapr.io/enable-api-logging:", "dapr.io/sidecar-cpu-request:", "dapr.io/sidecar-cpu-limit:",
            "dapr.io/sidecar-memory-request:", "dapr.io/sidecar-memory-limit:"];

        Assert.All(annotations, annotation => Assert.Contains(annotation, deployment, StringComparison.Ordinal));
        Assert.Equal(Chart.Values().Text("dapr.config"), Yaml.Parse(Strip(Chart.Template("dapr-configuration.yaml").Split("  accessControl:")[0], Chart.Values())).Text("metadata.name"));
    }

    [Fact]
    public void No_app_may_read_a_secret_through_the_secrets_api_locally_or_on_kubernetes()
    {
        var chart = Yaml.Parse(Strip(Chart.Template("dapr-configuration.yaml").Split("  accessControl:")[0], Chart.Values()));
        var local = Yaml.Load(Repository.PathOf("components", "local", "configuration.yaml"));

        Assert.All(new[] { chart, local }, configuration => Assert.Equal(("secretstore", "deny"),
            configuration.Maps("spec.secrets.scopes").Select(s => (s.Text("storeName"), s.Text("defaultAccess"))).Single()));
    }

    [Fact]
    public void Probes_use_the_health_only_listener_not_the_app_port()
    {
        var deployment = Chart.Template("deployments.yaml");

        Assert.Contains("readinessProbe:\n            httpGet:\n              path: /readyz\n              port: health", deployment, StringComparison.Ordinal);
        Assert.Contains("livenessProbe:\n            httpGet:\n              path: /healthz\n              port: health", deployment, StringComparison.Ordinal);
        Assert.Contains("startupProbe:\n            httpGet:\n              path: /healthz\n              port: health", deployment, StringComparison.Ordinal);
        Assert.Contains("- name: HEALTH_PORT\n              value: {{ $.Values.health.port | quote }}", deployment, StringComparison.Ordinal);
        Assert.Contains("- name: health\n              containerPort: {{ $.Values.health.port }}", deployment, StringComparison.Ordinal);
        Assert.DoesNotContain("grpc:\n              port: {{ $app.port }}", deployment, StringComparison.Ordinal);
        Assert.Contains("- name: APP_PORT", deployment, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_app_gets_only_its_own_database_login_and_only_apps_that_check_tokens_get_the_auth_settings()
    {
        var apps = Chart.Values().MapAt("apps");
        var deployment = Chart.Template("deployments.yaml");

        Assert.Equal(AppIds.All.Order(), apps.Keys.Order());
        foreach (var id in apps.Keys)
        {
            var program = File.ReadAllText(Repository.PathOf("src", string.Concat(id.Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..])), "Program.cs"));
            var database = AddPostgres().Match(program) is { Success: true } call ? call.Groups[1].Value : "";
            Assert.Equal((id, database), (id, apps.Text($"{id}.database")));
            Assert.Equal((id, program.Contains("AddJwtAuthentication()", StringComparison.Ordinal)),
                (id, string.Equals(Convert.ToString(apps.At($"{id}.authenticates"), CultureInfo.InvariantCulture), "true", StringComparison.OrdinalIgnoreCase)));
        }

        Assert.Contains("{{- with $app.database }}\n            - name: ConnectionStrings__{{ . }}\n              valueFrom:\n                secretKeyRef:\n"
            + "                  name: {{ $.Values.postgres.existingSecret }}\n                  key: {{ . }}\n", deployment, StringComparison.Ordinal);
        Assert.DoesNotContain("ConnectionStrings__Postgres", deployment, StringComparison.Ordinal);
        var start = deployment.IndexOf("{{- if $app.authenticates }}", StringComparison.Ordinal);
        var authenticatingOnly = deployment[start..deployment.IndexOf("{{- if $app.stripe }}", start, StringComparison.Ordinal)];
        Assert.Equal(3, Regex.Count(authenticatingOnly, "- name: Auth__"));
        Assert.Equal(3, Regex.Count(deployment, "- name: Auth__"));
        Assert.Contains("automountServiceAccountToken: false", deployment, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"AddPostgres\(""([a-z]+)""")]
    private static partial Regex AddPostgres();

    [Theory]
    [InlineData("ConnectionStrings__{{ . }}")]
    [InlineData("Auth__SigningKey")]
    [InlineData("Stripe__ApiKey")]
    [InlineData("Stripe__WebhookSecret")]
    public void Secret_settings_come_from_existing_secrets(string setting)
    {
        var deployment = Chart.Template("deployments.yaml");

        Assert.Contains($"- name: {setting}\n              valueFrom:\n                secretKeyRef:", deployment, StringComparison.Ordinal);
        // The chart's only Secrets are the Dapr tokens it generates (TrustBoundaryTests).
        Assert.All(Repository.HelmTemplates().Where(t => Path.GetFileName(t) != "dapr-tokens.yaml"),
            template => Assert.DoesNotContain("kind: Secret", File.ReadAllText(template), StringComparison.Ordinal));
    }

    [Fact]
    public void The_dapr_templates_render_the_values_the_way_the_chart_environment_is_checked()
    {
        var components = Chart.Template("dapr-components.yaml");
        var subscriptions = Chart.Template("dapr-subscriptions.yaml");

        Assert.Contains("name: pubsub\n", components, StringComparison.Ordinal);
        Assert.Contains("type: pubsub.kafka\n  version: v1", components, StringComparison.Ordinal);
        Assert.Contains("- name: consumerGroup\n      value: \"{appID}\"", components, StringComparison.Ordinal);
        Assert.Contains("- name: initialOffset\n      value: {{ $pubsub.initialOffset | quote }}", components, StringComparison.Ordinal);
        Assert.Contains("toYaml $pubsub.scopes", components, StringComparison.Ordinal);
        Assert.Contains("name: statestore\n", components, StringComparison.Ordinal);
        Assert.Contains("type: state.postgresql\n  version: v2", components, StringComparison.Ordinal);
        Assert.Contains("- name: actorStateStore\n      value: \"true\"", components, StringComparison.Ordinal);
        Assert.Contains("toYaml .Values.dapr.statestore.scopes", components, StringComparison.Ordinal);
        Assert.Contains("name: secretstore\n", components, StringComparison.Ordinal);
        Assert.Contains("type: secretstores.kubernetes", components, StringComparison.Ordinal);
        Assert.Contains("toYaml .Values.dapr.secretstore.scopes", components, StringComparison.Ordinal);
        Assert.DoesNotContain("rawPayload", components, StringComparison.Ordinal);

        Assert.Contains("{{- range .Values.dapr.subscriptions }}", subscriptions, StringComparison.Ordinal);
        Assert.Contains("name: {{ include \"ticketsaga.topicName\" .topic }}", subscriptions, StringComparison.Ordinal);
        Assert.Contains("pubsubname: pubsub", subscriptions, StringComparison.Ordinal);
        Assert.Contains("default: {{ printf \"/events/%s\" .topic | quote }}", subscriptions, StringComparison.Ordinal);
        Assert.Contains("deadLetterTopic: {{ printf \"%s.dlq\" .topic | quote }}", subscriptions, StringComparison.Ordinal);
        Assert.Contains("toYaml .scopes", subscriptions, StringComparison.Ordinal);
        Assert.Contains("{{- toYaml .Values.dapr.resiliency | nindent 2 }}", Chart.Template("dapr-resiliency.yaml"), StringComparison.Ordinal);
        Assert.Contains("{{- . | replace \".\" \"-\" | replace \"_\" \"-\" -}}", Chart.Template("_helpers.tpl"), StringComparison.Ordinal);
    }

    [Fact]
    public void Strimzi_topics_include_every_subscribed_topic_and_its_dead_letter_topic()
    {
        var topics = Chart.Template("kafka-topics.yaml");

        Assert.Contains("{{- range .Values.dapr.subscriptions }}", topics, StringComparison.Ordinal);
        Assert.Contains("{{- range list .topic (printf \"%s.dlq\" .topic) }}", topics, StringComparison.Ordinal);
        Assert.Contains("topicName: {{ . | quote }}", topics, StringComparison.Ordinal);
        Assert.Equal("true", Merged("values-prod.yaml").Text("kafkaTopics.enabled"));
    }

    [Fact]
    public void Production_uses_oidc_and_kafka_over_tls_with_sasl()
    {
        var prod = Merged("values-prod.yaml");

        Assert.StartsWith("https://", prod.Text("auth.authority"), StringComparison.Ordinal);
        Assert.Equal("", prod.Text("auth.signingKey.existingSecret") ?? "");
        Assert.Equal(("password", "false"), (prod.Text("dapr.pubsub.authType"), prod.Text("dapr.pubsub.disableTls")));
        Assert.NotEqual("", prod.Text("dapr.pubsub.saslPasswordSecret.name"));
    }

    [Fact]
    public void The_chart_readme_explains_the_install_order()
    {
        var readme = File.ReadAllText(Repository.ChartPath("README.md"));

        Assert.All(["helm upgrade --install dapr dapr/dapr", "strimzi-kafka-operator", "CloudNativePG", "helm upgrade --install ticketsaga deploy/helm/ticketsaga", "create secret generic"], step => Assert.Contains(step, readme, StringComparison.Ordinal));
    }

    /// <summary>values.yaml with an environment file laid over it, as `helm -f` merges maps.</summary>
    private static Map Merged(string file)
    {
        var values = Chart.Values();
        return file == "values.yaml" ? values : Merge(values, Chart.Values(file));
    }

    private static Map Merge(Map basis, Map overlay)
    {
        var merged = new Map(basis);
        foreach (var (key, value) in overlay)
        {
            merged[key] = value is Map map && basis.At(key) is Map inner ? Merge(inner, map) : value;
        }

        return merged;
    }

    private static bool Exists(Map values, string path)
    {
        object? current = values;
        foreach (var key in path.Split('.'))
        {
            if (current is not Map map || !map.TryGetValue(key, out current))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Drops the lines that only hold template actions; enough for a template without loops.</summary>
    private static string Strip(string template, Map values) =>
        string.Join('\n', template.Split('\n')
            .Where(line => !ActionLine().IsMatch(line))
            .Select(line => ValueExpression().Replace(line, m =>
            {
                var value = values.Text(m.Groups["path"].Value.TrimStart('.')) ?? "";
                return m.Groups["quote"].Success ? $"\"{value}\"" : value;
            })));

    [GeneratedRegex(@"(?<!\w)\.Values(?<path>(?:\.[A-Za-z_]\w*)+)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"\$(?<alias>[a-z]\w*)(?<path>(?:\.[A-Za-z_]\w*)+)")]
    private static partial Regex AliasReference();

    [GeneratedRegex(@"\$(?<alias>\w+)\s*:=\s*(?:index\s+)?\.Values(?<path>(?:\.\w+)+)(?:\s+""(?<key>[\w-]+)"")?")]
    private static partial Regex Alias();

    [GeneratedRegex(@"^\s*\{\{[^}]*\}\}\s*$")]
    private static partial Regex ActionLine();

    [GeneratedRegex(@"\{\{\s*\.Values(?<path>(?:\.\w+)+)\s*(?<quote>\|\s*quote\s*)?\}\}")]
    private static partial Regex ValueExpression();
}
