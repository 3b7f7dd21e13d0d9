using System.Text.RegularExpressions;
using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

/// <summary>
/// Issue 11: an app is reachable only through its own sidecar. Who may invoke whom (accessControl),
/// who may publish and receive which topic (pub/sub scopes), and on Kubernetes the Dapr tokens and
/// a NetworkPolicy for every app.
/// </summary>
public sealed partial class TrustBoundaryTests
{
    /// <summary>The calls of the flow, caller → apps it invokes (the code's DaprClient invokers and the gateway's routes).</summary>
    private static readonly Dictionary<string, string[]> Invokes = new()
    {
        [AppIds.Gateway] = [AppIds.OrderService, AppIds.PaymentService, AppIds.TicketService, AppIds.VenueService],
        [AppIds.OrderService] = [AppIds.PaymentService, AppIds.TicketService, AppIds.VenueService],
        [AppIds.PaymentService] = [AppIds.OrderService],
        // `ticketsaga up` seeds and `ticketsaga load` sets up its sale through the app's own sidecar.
        [AppIds.TicketService] = [AppIds.TicketService],
        [AppIds.VenueService] = [AppIds.VenueService],
    };

    public static TheoryData<string> Environments => DaprEnvironment.Names;

    public static TheoryData<string> ValuesFiles { get; } = ["values.yaml", "values-dev.yaml", "values-prod.yaml"];

    [Fact]
    public void Every_environment_secret_store_reads_only_variables_with_its_prefix()
    {
        var stores = Repository.YamlFiles().Select(Yaml.LoadAll).SelectMany(documents => documents.OfType<Map>())
            .Where(document => document.Text("spec.type") == "secretstores.local.env").ToList();

        Assert.NotEmpty(stores);
        Assert.All(stores, store => Assert.StartsWith("TICKETSAGA_SECRET_",
            store.Maps("spec.metadata").Single(item => item.Text("name") == "prefix").Text("value"), StringComparison.Ordinal));
    }

    [Fact]
    public void The_local_configuration_denies_every_invocation_it_does_not_list()
    {
        var accessControl = LocalAccessControl();

        Assert.Equal("deny", accessControl.Text("defaultAction"));
        Assert.All(accessControl.Maps("policies"), policy =>
        {
            Assert.Equal("deny", policy.Text("defaultAction"));
            Assert.False(string.IsNullOrEmpty(policy.Text("namespace")), "daprd refuses a policy without a namespace");
            Assert.All(policy.Maps("operations"), operation => Assert.Equal("allow", operation.Text("action")));
        });
    }

    [Fact]
    public void Each_app_may_invoke_only_the_apps_the_flow_calls()
    {
        var allowed = Policies(LocalAccessControl());

        Assert.Equal(Invokes.Keys.Order(StringComparer.Ordinal), allowed.Keys.Order(StringComparer.Ordinal));
        Assert.All(allowed, policy => Assert.Equal(
            Invokes[policy.Key].Order(StringComparer.Ordinal),
            policy.Value.Select(operation => TargetOf(operation.Name)).Distinct().Order(StringComparer.Ordinal)));
    }

    [Fact]
    public void Every_allowed_grpc_operation_is_a_method_of_the_protos()
    {
        var methods = Directory.EnumerateFiles(Repository.PathOf("protos"), "*.proto").SelectMany(file =>
        {
            var text = File.ReadAllText(file);
            var package = PackageLine().Match(text).Groups["name"].Value;
            var service = ServiceLine().Match(text).Groups["name"].Value;
            return RpcLine().Matches(text).Select(m => $"/{package}.{service}/{m.Groups["name"].Value}");
        }).ToHashSet();

        var grpc = Policies(LocalAccessControl()).Values.SelectMany(o => o).Where(o => o.Name.StartsWith("/ticketsaga.", StringComparison.Ordinal));
        Assert.All(grpc, operation => Assert.Contains(operation.Name, methods));
    }

    [Fact]
    public void Nobody_may_release_or_create_stock_but_the_apps_whose_job_it_is()
    {
        var allowed = Policies(LocalAccessControl());
        string[] release =
        [
            "/ticketsaga.ticket.v1.Tickets/ReleaseReservation", "/ticketsaga.venue.v1.Venues/ReleaseSeatReservation",
            "/ticketsaga.ticket.v1.Tickets/ReturnSoldReservation", "/ticketsaga.venue.v1.Venues/ReturnSoldSeatReservation",
        ];
        string[] create = ["/ticketsaga.ticket.v1.Tickets/CreateTicketType", "/ticketsaga.venue.v1.Venues/CreateSeatPlan"];

        Assert.Equal([AppIds.OrderService], release.SelectMany(op => allowed.Where(p => p.Value.Any(o => o.Name == op)).Select(p => p.Key)).Distinct());
        Assert.Equal(
            [AppIds.TicketService, AppIds.VenueService],
            create.SelectMany(op => allowed.Where(p => p.Value.Any(o => o.Name == op)).Select(p => p.Key)).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_chart_renders_the_same_access_control_as_the_local_configuration()
    {
        var chart = Chart.Values().MapAt("dapr.accessControl");
        var local = LocalAccessControl();

        Assert.Equal((local.Text("defaultAction"), local.Text("trustDomain")), (chart.Text("defaultAction"), chart.Text("trustDomain")));
        var chartPolicies = Policies(chart);
        var localPolicies = Policies(local);
        Assert.Equal(localPolicies.Keys.Order(StringComparer.Ordinal), chartPolicies.Keys.Order(StringComparer.Ordinal));
        Assert.All(localPolicies, policy => Assert.Equal(policy.Value, chartPolicies[policy.Key]));

        var template = Chart.Template("dapr-configuration.yaml");
        Assert.Contains("defaultAction: {{ .Values.dapr.accessControl.defaultAction }}", template, StringComparison.Ordinal);
        Assert.Contains("{{- range .Values.dapr.accessControl.policies }}", template, StringComparison.Ordinal);
        Assert.Contains("        defaultAction: deny\n", template, StringComparison.Ordinal);
        Assert.Contains("namespace: {{ $.Release.Namespace | quote }}", template, StringComparison.Ordinal);
        Assert.Contains("httpVerb: {{ toJson . }}", template, StringComparison.Ordinal);
        Assert.Contains("action: allow", template, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Only_a_topics_owner_may_publish_it_and_its_subscribers_its_dead_letters(string environment)
    {
        var publishing = Scopes(DaprEnvironment.Load(environment).Component(Topics.PubSub).Value("publishingScopes"));

        foreach (var topic in Topics.All)
        {
            Assert.Equal([Saga.Publisher[topic]], publishing.Where(p => p.Value.Contains(topic)).Select(p => p.Key));
            Assert.Equal(
                Saga.Subscribers[topic].Order(StringComparer.Ordinal),
                publishing.Where(p => p.Value.Contains(Topics.DeadLetter(topic))).Select(p => p.Key).Order(StringComparer.Ordinal));
        }

        Assert.All(publishing, p => Assert.All(p.Value, topic => Assert.True(
            Topics.All.Contains(topic) || Topics.All.Any(t => Topics.DeadLetter(t) == topic), $"{environment}: {p.Key} may publish unknown topic {topic}")));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Each_app_receives_only_the_topics_it_subscribes_to(string environment)
    {
        var pubsub = DaprEnvironment.Load(environment).Component(Topics.PubSub);
        var subscribing = Scopes(pubsub.Value("subscriptionScopes"));

        Assert.Equal(pubsub.Scopes.Order(StringComparer.Ordinal), subscribing.Keys.Order(StringComparer.Ordinal));
        Assert.All(subscribing, s => Assert.Equal(
            Saga.Subscribers.Where(t => t.Value.Contains(s.Key)).Select(t => t.Key).Order(StringComparer.Ordinal),
            s.Value.Order(StringComparer.Ordinal)));
    }

    [Fact]
    public void The_chart_renders_the_pubsub_scopes_it_is_checked_for()
    {
        var components = Chart.Template("dapr-components.yaml");
        var helpers = Chart.Template("_helpers.tpl");

        Assert.Contains("- name: publishingScopes\n      value: {{ include \"ticketsaga.publishingScopes\" . | quote }}", components, StringComparison.Ordinal);
        Assert.Contains("- name: subscriptionScopes\n      value: {{ include \"ticketsaga.subscriptionScopes\" . | quote }}", components, StringComparison.Ordinal);
        Assert.Contains("{{- range $app, $topics := .Values.dapr.pubsub.publishes -}}", helpers, StringComparison.Ordinal);
        Assert.Contains("{{- $allowed = append $allowed (printf \"%s.dlq\" .topic) -}}", helpers, StringComparison.Ordinal);
        Assert.Contains("{{- range $app := .Values.dapr.pubsub.scopes -}}", helpers, StringComparison.Ordinal);
        Assert.Contains("{{- $topics = append $topics .topic -}}", helpers, StringComparison.Ordinal);
    }

    [Fact]
    public void The_chart_refuses_a_broker_without_authentication_outside_development()
    {
        var components = Chart.Template("dapr-components.yaml");

        Assert.Contains("{{- if and (ne .Values.environment \"Development\") (eq $pubsub.authType \"none\") }}\n{{- fail ", components, StringComparison.Ordinal);
        Assert.Contains("{{- if and (ne .Values.environment \"Development\") (eq $pubsub.authType \"password\") $pubsub.disableTls }}\n{{- fail ",
            components, StringComparison.Ordinal);
        Assert.Equal("Development", Chart.Values("values-dev.yaml").Text("environment"));
        Assert.Equal("Production", Chart.Values("values-prod.yaml").Text("environment"));
        Assert.NotEqual("none", Chart.Values("values-prod.yaml").Text("dapr.pubsub.authType"));
    }

    [Fact]
    public void The_chart_refuses_several_gateways_without_one_queue_token_key_and_an_ingress_without_trusted_proxies_and_prod_has_both()
    {
        var helpers = Chart.Template("_helpers.tpl");
        var prod = Chart.Values("values-prod.yaml");

        Assert.Contains("(or (gt (int $gateway.replicas) 1) $gateway.autoscaling.enabled) (not .Values.waitingRoom.tokenKey.existingSecret) -}}\n{{- fail ", helpers, StringComparison.Ordinal);
        Assert.Contains("(hasKey $env \"ForwardedHeaders__KnownNetworks__0\")", helpers, StringComparison.Ordinal);
        Assert.Contains("- name: WaitingRoom__TokenKey", Chart.Template("deployments.yaml"), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(prod.Text("waitingRoom.tokenKey.existingSecret")));
        Assert.False(string.IsNullOrEmpty(prod.Text("apps.gateway.env.ForwardedHeaders__KnownNetworks__0")));
        Assert.Equal("cookie", prod.MapAt("ingress.annotations")["nginx.ingress.kubernetes.io/affinity"]);
    }

    [Fact]
    public void Every_app_in_the_chart_has_both_dapr_token_annotations_and_the_same_tokens_as_environment()
    {
        var deployment = Chart.Template("deployments.yaml");

        // deployments.yaml renders one Deployment per entry of `apps`; each carries these lines.
        Assert.StartsWith("{{- include \"ticketsaga.checkAuth\" . }}\n{{- include \"ticketsaga.checkGateway\" . }}\n{{- range $id, $app := .Values.apps }}", deployment, StringComparison.Ordinal);
        Assert.Contains("{{- $appToken := include \"ticketsaga.tokenSecretName\" (dict \"root\" $ \"id\" $id \"kind\" \"app\") }}", deployment, StringComparison.Ordinal);
        Assert.Contains("{{- $apiToken := include \"ticketsaga.tokenSecretName\" (dict \"root\" $ \"id\" $id \"kind\" \"api\") }}", deployment, StringComparison.Ordinal);
        Assert.Contains("        dapr.io/app-token-secret: {{ $appToken | quote }}\n", deployment, StringComparison.Ordinal);
        Assert.Contains("        dapr.io/api-token-secret: {{ $apiToken | quote }}\n", deployment, StringComparison.Ordinal);
        Assert.Contains("- name: APP_API_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: {{ $appToken }}\n                  key: token", deployment, StringComparison.Ordinal);
        Assert.Contains("- name: DAPR_API_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: {{ $apiToken }}\n                  key: token", deployment, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(deployment, "range \\$id, \\$app := \\.Values\\.apps"));
    }

    [Fact]
    public void The_chart_makes_each_token_secret_it_does_not_take_from_the_values_and_keeps_it_across_upgrades()
    {
        var tokens = Chart.Template("dapr-tokens.yaml");
        var helpers = Chart.Template("_helpers.tpl");

        Assert.Contains("{{- range $id, $app := .Values.apps }}\n{{- range $kind := list \"app\" \"api\" }}", tokens, StringComparison.Ordinal);
        Assert.Contains("{{- if not (dig $id $kind \"\" $.Values.dapr.tokens.existingSecrets) }}", tokens, StringComparison.Ordinal);
        Assert.Contains("{{- $current := dig \"data\" \"token\" \"\" (lookup \"v1\" \"Secret\" $.Release.Namespace $name) }}", tokens, StringComparison.Ordinal);
        Assert.Contains("token: {{ $current | default (randAlphaNum 48 | b64enc) }}", tokens, StringComparison.Ordinal);
        Assert.Contains("{{- $existing := dig .id .kind \"\" .root.Values.dapr.tokens.existingSecrets -}}", helpers, StringComparison.Ordinal);
        Assert.Empty(Chart.Values().MapAt("dapr.tokens.existingSecrets"));
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Each_app_has_a_network_policy_that_lets_in_only_its_sidecars_peers_and_for_the_gateway_the_ingress(string file)
    {
        var policies = Chart.Template("network-policies.yaml");
        var values = Chart.Values(file);

        Assert.NotEqual("false", values.Text("networkPolicy.enabled"));
        Assert.StartsWith("{{- if .Values.networkPolicy.enabled }}\n{{- range $id, $app := .Values.apps }}\n---", policies, StringComparison.Ordinal);
        Assert.Contains("kind: NetworkPolicy", policies, StringComparison.Ordinal);
        Assert.Contains("  podSelector:\n    matchLabels:\n      {{- include \"ticketsaga.selectorLabels\" (dict \"root\" $ \"id\" $id) | nindent 6 }}", policies, StringComparison.Ordinal);
        Assert.Contains("policyTypes: [Ingress]", policies, StringComparison.Ordinal);
        // The only app port a policy opens is the gateway's, and only to the ingress peers.
        Assert.Single(Regex.Matches(policies, @"port: \{\{ \$app\.port \}\}"));
        var gatewayOnly = policies[policies.IndexOf("{{- if eq $id \"gateway\" }}\n    - from:", StringComparison.Ordinal)..];
        Assert.Contains("{{- toYaml $.Values.networkPolicy.ingressFrom | nindent 8 }}\n      ports:\n        - port: {{ $app.port }}", gatewayOnly, StringComparison.Ordinal);
        Assert.Contains("        - port: 50002\n", policies, StringComparison.Ordinal);
        Assert.NotEmpty(Chart.Values().Maps("networkPolicy.ingressFrom"));
    }

    [Fact]
    public void Only_the_gateway_has_a_kubernetes_service()
    {
        var services = Chart.Template("services.yaml");

        Assert.DoesNotContain("range", services, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(services, "kind: Service"));
        Assert.Contains("{{- include \"ticketsaga.selectorLabels\" (dict \"root\" $ \"id\" \"gateway\") | nindent 4 }}", services, StringComparison.Ordinal);
    }

    private sealed record Operation(string Name, string Verbs)
    {
        public static Operation From(Map operation) => new(operation.Text("name")!, string.Join(',', operation.Strings("httpVerb")));
    }

    private static Map LocalAccessControl() => Yaml.Load(Repository.PathOf("components", "local", "configuration.yaml")).MapAt("spec.accessControl");

    private static Dictionary<string, List<Operation>> Policies(Map accessControl) =>
        accessControl.Maps("policies").ToDictionary(p => p.Text("appId")!, p => p.Maps("operations").Select(Operation.From).ToList());

    /// <summary>The app an operation reaches: gRPC methods by their service, HTTP routes by their prefix.</summary>
    private static string TargetOf(string operation) => operation switch
    {
        _ when operation.StartsWith("/ticketsaga.ticket.v1.Tickets/", StringComparison.Ordinal) => AppIds.TicketService,
        _ when operation.StartsWith("/ticketsaga.venue.v1.Venues/", StringComparison.Ordinal) => AppIds.VenueService,
        "/orders" or "/orders/*" or "/orders/*/timeline" or "/internal/orders/*" => AppIds.OrderService,
        "/payments/*" or "/internal/payments/*/attempts" => AppIds.PaymentService,
        _ => throw new InvalidOperationException($"{operation} names no app of the flow"),
    };

    /// <summary>Dapr's scope syntax: <c>app1=topic1,topic2;app2=topic3</c>.</summary>
    private static Dictionary<string, string[]> Scopes(string? value) =>
        (value ?? throw new InvalidOperationException("the pubsub component has no such scopes")).Split(';').Select(entry => entry.Split('='))
            .ToDictionary(pair => pair[0], pair => pair[1].Split(',', StringSplitOptions.RemoveEmptyEntries));

    [GeneratedRegex(@"^package (?<name>[\w.]+);", RegexOptions.Multiline)]
    private static partial Regex PackageLine();

    [GeneratedRegex(@"^service (?<name>\w+)", RegexOptions.Multiline)]
    private static partial Regex ServiceLine();

    [GeneratedRegex(@"^\s*rpc (?<name>\w+)\(", RegexOptions.Multiline)]
    private static partial Regex RpcLine();
}
