using TicketSaga.Contracts;
using TicketSaga.Runtime.Components;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>Dapr's accessControl and pub/sub scoping as the embedded runtime reads and decides them.</summary>
public sealed class AccessControlTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-configuration-").FullName;

    [Fact]
    public void The_repository_configuration_lets_each_app_make_exactly_the_calls_of_the_flow()
    {
        var accessControl = ResourceLoader.Load([], Repository.Configuration).AccessControl!;

        Assert.True(accessControl.Allows(AppIds.Gateway, "/orders", "POST"));
        Assert.True(accessControl.Allows(AppIds.Gateway, "/orders/0198c2a4-0000-7000-8000-000000000000", "GET"));
        Assert.True(accessControl.Allows(AppIds.Gateway, "/payments/confirm", "POST"));
        Assert.True(accessControl.Allows(AppIds.OrderService, "/ticketsaga.ticket.v1.Tickets/ReserveQuota", null));
        Assert.True(accessControl.Allows(AppIds.OrderService, "/ticketsaga.venue.v1.Venues/ReleaseSeatReservation", null));
        Assert.True(accessControl.Allows(AppIds.PaymentService, "/orders/0198c2a4-0000-7000-8000-000000000000", "GET"));

        Assert.False(accessControl.Allows(AppIds.Gateway, "/ticketsaga.ticket.v1.Tickets/ReleaseReservation", null));
        Assert.False(accessControl.Allows(AppIds.PaymentService, "/orders", "POST"));
        Assert.False(accessControl.Allows(AppIds.PaymentService, "/orders/0198c2a4-0000-7000-8000-000000000000", "DELETE"));
        Assert.False(accessControl.Allows(AppIds.ExpirationService, "/ticketsaga.ticket.v1.Tickets/ReserveQuota", null));
        Assert.False(accessControl.Allows("intruder", "/orders", "GET"));
    }

    [Fact]
    public void A_dot_segment_does_not_carry_a_call_out_of_the_operation_it_names()
    {
        var accessControl = ResourceLoader.Load([], Repository.Configuration).AccessControl!;

        Assert.False(accessControl.Allows(AppIds.PaymentService, "/orders/../payments/confirm", "GET"));
        Assert.False(accessControl.Allows(AppIds.PaymentService, "/orders/a/b", "GET"));
    }

    [Fact]
    public void Policies_follow_dapr_defaults_wildcards_and_verbs()
    {
        var file = Write("""
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: config
            spec:
              accessControl:
                defaultAction: allow
                policies:
                  - appId: reader
                    defaultAction: deny
                    operations:
                      - name: /items/**
                        httpVerb: [GET]
                        action: allow
                      - name: /admin/*
                        httpVerb: ['*']
                        action: deny
                  - appId: elsewhere
                    namespace: production
                    defaultAction: deny
            """);

        var accessControl = ResourceLoader.Load([], file).AccessControl!;

        Assert.True(accessControl.Allows("reader", "/items/a/b", "GET"));
        Assert.False(accessControl.Allows("reader", "/items/a", "PUT"));
        Assert.False(accessControl.Allows("reader", "/admin/x", "GET"));
        Assert.False(accessControl.Allows("reader", "/other", "GET"));
        Assert.True(accessControl.Allows("anyone", "/other", "GET"));
        // A policy of another namespace is not this caller's: the global default applies.
        Assert.True(accessControl.Allows("elsewhere", "/other", "GET"));
    }

    [Fact]
    public void A_configuration_without_access_control_allows_every_call()
    {
        var file = Write("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: config\nspec:\n  tracing:\n    samplingRate: \"1\"\n");

        Assert.Null(ResourceLoader.Load([], file).AccessControl);
    }

    [Fact]
    public void An_unknown_action_names_the_file_and_line()
    {
        var file = Write("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: config\nspec:\n  accessControl:\n    defaultAction: maybe\n");

        var error = Assert.Throws<ComponentLoadException>(() => ResourceLoader.Load([], file));

        Assert.Contains($"{file}:7: 'defaultAction' is 'maybe' (expected allow or deny)", error.Message);
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("local")]
    public void Only_payment_service_publishes_payment_topics_and_only_order_service_order_topics(string environment)
    {
        var pubsub = ResourceLoader.Load([Repository.SharedComponents, Path.Combine(Repository.SharedComponents, environment)]).PubSubFor(AppIds.OrderService, Topics.PubSub)!;

        Assert.True(pubsub.AllowsPublishing(AppIds.PaymentService, Topics.PaymentSucceeded));
        Assert.False(pubsub.AllowsPublishing(AppIds.OrderService, Topics.PaymentSucceeded));
        Assert.False(pubsub.AllowsPublishing(AppIds.ExpirationService, Topics.PaymentRefunded));
        Assert.True(pubsub.AllowsPublishing(AppIds.OrderService, Topics.OrderCreated));
        Assert.False(pubsub.AllowsPublishing(AppIds.PaymentService, Topics.OrderCancelled));
        Assert.True(pubsub.AllowsSubscribing(AppIds.OrderService, Topics.PaymentSucceeded));
        Assert.False(pubsub.AllowsSubscribing(AppIds.ExpirationService, Topics.PaymentSucceeded));
    }

    [Fact]
    public void Scopes_follow_dapr_an_unlisted_app_may_use_every_allowed_topic_and_an_empty_list_none()
    {
        Write("pubsub.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: pubsub
            spec:
              type: pubsub.kafka
              version: v1
              metadata:
                - name: allowedTopics
                  value: "a, b, c"
                - name: publishingScopes
                  value: "writer=a;mute="
            """);

        var pubsub = ResourceLoader.Load([_folder]).PubSubFor("writer", "pubsub")!;

        Assert.True(pubsub.AllowsPublishing("writer", "a"));
        Assert.False(pubsub.AllowsPublishing("writer", "b"));
        Assert.False(pubsub.AllowsPublishing("mute", "a"));
        Assert.True(pubsub.AllowsPublishing("other", "c"));
        Assert.False(pubsub.AllowsPublishing("other", "d"));
        Assert.True(pubsub.AllowsSubscribing("mute", "b"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string yaml) => Write("configuration.yaml", yaml);

    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, yaml);
        return path;
    }
}
