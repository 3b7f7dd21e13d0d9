using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Testing;
using DaprGrpc = Dapr.Client.Autogen.Grpc.v1.Dapr;
using GrpcStatus = Grpc.Core.Status;

namespace TicketSaga.Runtime.Tests;

// InvokeMethodGrpcAsync and InvokeMethodAsync are obsolete in the SDK but still what Dapr apps call; the sidecar must serve them.
#pragma warning disable CS0618

/// <summary>
/// A bank written as the SDK's GrpcServiceSample is (<c>AppCallback.AppCallbackBase</c>, <c>appProtocol: grpc</c>)
/// on a <see cref="DaprTestHost"/>, an HTTP box office, and callers: <c>teller</c> may call anything,
/// <c>intruder</c> nothing (accessControl).
/// </summary>
public sealed class GrpcInvocationFixture(PostgresServer postgres) : IAsyncLifetime
{
    public const string BankAppId = "bank-grpc";

    public const string BoxOfficeAppId = "box-office-http";

    public const string ArchiveAppId = "archive-grpc";

    private readonly string _configuration = Path.Combine(Directory.CreateTempSubdirectory("ticketsaga-grpc-invocation-").FullName, "configuration.yaml");
    private TestApp _bank = null!;
    private TestApp _boxOffice = null!;
    private TestApp _archive = null!;

    public DaprTestHost Host { get; private set; } = null!;

    public BankCallback Bank { get; } = new();

    /// <summary>What the archive, an app on an older SDK (bulk events only through <c>AppCallbackAlpha</c>), was given.</summary>
    public StatementBook Archive { get; } = new();

    public Sidecar Teller { get; private set; } = null!;

    public Sidecar Intruder { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await File.WriteAllTextAsync(_configuration, """
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: bank
            spec:
              accessControl:
                defaultAction: allow
                policies:
                  - appId: intruder
                    defaultAction: deny
            """);
        var bankPort = PortAllocator.FreePort();
        _bank = await TestApp.StartAsync(bankPort, web => web.MapGrpcService<BankCallback>(), AppChannelProtocol.Grpc,
            services => services.AddGrpc().Services.AddSingleton(Bank));
        Host = await DaprTestHost.StartAsync(BankAppId, new DaprTestHostOptions
        {
            PostgresConnectionString = postgres.ConnectionString,
            ResourcesPaths = [Path.Combine(AppContext.BaseDirectory, "resources")],
            ConfigFilePath = _configuration,
            AppPort = bankPort,
            AppProtocol = AppChannelProtocol.Grpc,
        });

        var boxOfficePort = PortAllocator.FreePort();
        _boxOffice = await TestApp.StartAsync(boxOfficePort, web => web.MapMethods("/tickets/{id}", ["PUT", "POST"], async (string id, HttpRequest request) =>
        {
            using var body = new StreamReader(request.Body);
            return id == "missing"
                ? Results.NotFound("no such ticket")
                : Results.Json(new
                {
                    id,
                    verb = request.Method,
                    query = request.QueryString.Value,
                    contentType = request.ContentType,
                    body = await body.ReadToEndAsync(),
                    caller = request.Headers["dapr-caller-app-id"].ToString(),
                });
        }));
        await AddSidecarAsync(BoxOfficeAppId, boxOfficePort);
        var archivePort = PortAllocator.FreePort();
        _archive = await TestApp.StartAsync(archivePort, web =>
            {
                web.MapGrpcService<ArchiveCallback>();
                web.MapGrpcService<ArchiveAlphaCallback>();
            },
            AppChannelProtocol.Grpc,
            services => services.AddGrpc().Services.AddSingleton(Archive));
        await Host.Runtime.AddSidecarAsync(new AppDescriptor(ArchiveAppId, archivePort, AppChannelProtocol.Grpc, PortAllocator.FreePort(), PortAllocator.FreePort()));
        Teller = await AddSidecarAsync("teller");
        Intruder = await AddSidecarAsync("intruder");
    }

    private Task<Sidecar> AddSidecarAsync(string appId, int appPort = 0) => Host.Runtime.AddSidecarAsync(
        new AppDescriptor(appId, appPort == 0 ? PortAllocator.FreePort() : appPort, AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort()));

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await _bank.DisposeAsync();
        await _boxOffice.DisposeAsync();
        await _archive.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(_configuration)!, recursive: true);
    }
}

/// <summary>The bank's AppCallback: records what it is given, answers like the SDK's sample.</summary>
public sealed class BankCallback : AppCallback.AppCallbackBase
{
    public ConcurrentQueue<(InvokeRequest Request, string? Caller)> Invocations { get; } = new();

    public ConcurrentQueue<TopicEventRequest> Deposits { get; } = new();

    public StatementBook Statements { get; } = new();

    public override Task<TopicEventBulkResponse> OnBulkTopicEvent(TopicEventBulkRequest request, ServerCallContext context) => Task.FromResult(Statements.Take(request));

    public override Task<InvokeResponse> OnInvoke(InvokeRequest request, ServerCallContext context)
    {
        Invocations.Enqueue((request, context.RequestHeaders.GetValue("dapr-caller-app-id")));
        return request.Method switch
        {
            "deposit" => Task.FromResult(new InvokeResponse { Data = Any.Pack(new StringValue { Value = "deposited " + request.Data.Unpack<StringValue>().Value }) }),
            "accounts/a-1" => Task.FromResult(new InvokeResponse { ContentType = "application/json", Data = new Any { Value = ByteString.CopyFromUtf8("""{"balance":42}""") } }),
            _ => throw new RpcException(new GrpcStatus(StatusCode.FailedPrecondition, "insufficient funds")),
        };
    }

    public override Task<ListTopicSubscriptionsResponse> ListTopicSubscriptions(Empty request, ServerCallContext context)
    {
        var response = new ListTopicSubscriptionsResponse();
        response.Subscriptions.Add(new TopicSubscription { PubsubName = "pubsub", Topic = "bank.deposits", Routes = new TopicRoutes { Default = "/deposits" } });
        response.Subscriptions.Add(new TopicSubscription { PubsubName = "pubsub", Topic = "bank.chargebacks" });
        response.Subscriptions.Add(StatementBook.Subscription);
        return Task.FromResult(response);
    }

    /// <summary>The first delivery of each deposit answers RETRY; the next SUCCESS. Chargebacks are dropped.</summary>
    public override Task<TopicEventResponse> OnTopicEvent(TopicEventRequest request, ServerCallContext context)
    {
        if (request.Topic == "bank.chargebacks")
        {
            return Task.FromResult(new TopicEventResponse { Status = TopicEventResponse.Types.TopicEventResponseStatus.Drop });
        }

        var firstAttempt = Deposits.All(d => d.Id != request.Id);
        Deposits.Enqueue(request);
        return Task.FromResult(new TopicEventResponse
        {
            Status = firstAttempt ? TopicEventResponse.Types.TopicEventResponseStatus.Retry : TopicEventResponse.Types.TopicEventResponseStatus.Success,
        });
    }
}

/// <summary>A bulk subscriber of statements: takes them, and drops those of a closed account.</summary>
public sealed class StatementBook
{
    public static TopicSubscription Subscription => new()
    {
        PubsubName = "pubsub",
        Topic = "bank.statements",
        Routes = new TopicRoutes { Default = "/statements" },
        BulkSubscribe = new BulkSubscribeConfig { Enabled = true, MaxMessagesCount = 10 },
    };

    public ConcurrentQueue<TopicEventBulkRequest> Batches { get; } = new();

    public TopicEventBulkResponse Take(TopicEventBulkRequest request)
    {
        Batches.Enqueue(request);
        var response = new TopicEventBulkResponse();
        response.Statuses.Add(request.Entries.Select(entry => new TopicEventBulkResponseEntry
        {
            EntryId = entry.EntryId,
            Status = entry.CloudEvent.Data.ToStringUtf8().Contains("closed", StringComparison.Ordinal)
                ? TopicEventResponse.Types.TopicEventResponseStatus.Drop
                : TopicEventResponse.Types.TopicEventResponseStatus.Success,
        }));
        return response;
    }

    public IEnumerable<string> Accounts() => Batches.SelectMany(b => b.Entries)
        .Select(e => JsonSerializer.Deserialize<JsonElement>(e.CloudEvent.Data.ToStringUtf8()).GetProperty("account").GetString()!);
}

public sealed class ArchiveCallback : AppCallback.AppCallbackBase
{
    public override Task<ListTopicSubscriptionsResponse> ListTopicSubscriptions(Empty request, ServerCallContext context) =>
        Task.FromResult(new ListTopicSubscriptionsResponse { Subscriptions = { StatementBook.Subscription } });
}

public sealed class ArchiveAlphaCallback(StatementBook archive) : AppCallbackAlpha.AppCallbackAlphaBase
{
    [Obsolete("What apps on SDKs before AppCallback.OnBulkTopicEvent implement; the sidecar falls back to it.")]
    public override Task<TopicEventBulkResponse> OnBulkTopicEventAlpha1(TopicEventBulkRequest request, ServerCallContext context) => Task.FromResult(archive.Take(request));
}

public sealed class GrpcInvocationTests(GrpcInvocationFixture fixture) : IClassFixture<GrpcInvocationFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task InvokeMethodGrpcAsync_reaches_a_grpc_app_through_OnInvoke_with_the_message_as_sent()
    {
        using var dapr = fixture.Teller.CreateDaprClient();

        var reply = await dapr.InvokeMethodGrpcAsync<StringValue, StringValue>(GrpcInvocationFixture.BankAppId, "deposit", new StringValue { Value = "40 EUR" }, Cancel);

        Assert.Equal("deposited 40 EUR", reply.Value);
        var (request, caller) = fixture.Bank.Invocations.Last(i => i.Request.Method == "deposit");
        Assert.Equal("teller", caller);
        Assert.Equal("application/grpc", request.ContentType);
        Assert.Equal(Any.Pack(new StringValue()).TypeUrl, request.Data.TypeUrl);
    }

    [Fact]
    public async Task A_grpc_app_status_reaches_the_InvokeMethodGrpcAsync_caller_unchanged()
    {
        using var dapr = fixture.Teller.CreateDaprClient();

        var failure = await Assert.ThrowsAsync<InvocationException>(() =>
            dapr.InvokeMethodGrpcAsync<StringValue, StringValue>(GrpcInvocationFixture.BankAppId, "overdraw", new StringValue { Value = "1000 EUR" }, Cancel));

        var status = Assert.IsType<RpcException>(failure.InnerException);
        Assert.Equal(StatusCode.FailedPrecondition, status.StatusCode);
        Assert.Equal("insufficient funds", status.Status.Detail);
    }

    [Fact]
    public async Task Http_invocation_of_a_grpc_app_reaches_OnInvoke_with_verb_query_body_and_content_type()
    {
        using var dapr = fixture.Teller.CreateDaprClient();

        var reply = await dapr.InvokeMethodAsync<object, JsonElement>(HttpMethod.Put, GrpcInvocationFixture.BankAppId, "accounts/a-1?currency=eur", new { amount = 5 }, Cancel);

        Assert.Equal(42, reply.GetProperty("balance").GetInt32());
        var (request, caller) = fixture.Bank.Invocations.Last(i => i.Request.Method == "accounts/a-1");
        Assert.Equal("teller", caller);
        Assert.Equal(HTTPExtension.Types.Verb.Put, request.HttpExtension.Verb);
        Assert.Equal("currency=eur", request.HttpExtension.Querystring);
        Assert.StartsWith("application/json", request.ContentType);
        Assert.Equal(5, JsonSerializer.Deserialize<JsonElement>(request.Data.Value.ToStringUtf8()).GetProperty("amount").GetInt32());
    }

    [Fact]
    public async Task Http_invocation_of_a_grpc_app_that_fails_answers_the_http_status_of_its_grpc_status()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{fixture.Teller.App.HttpPort}") };

        using var response = await http.PostAsync($"/v1.0/invoke/{GrpcInvocationFixture.BankAppId}/method/overdraw", new StringContent("{}"), Cancel);

        // daprd: HTTPStatusFromCode(FailedPrecondition) is 400, the body the gRPC status as JSON.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var status = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal((int)StatusCode.FailedPrecondition, status.GetProperty("code").GetInt32());
        Assert.Equal("insufficient funds", status.GetProperty("message").GetString());
    }

    [Fact]
    public async Task InvokeService_with_an_http_extension_reaches_an_http_app_as_an_http_request()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Teller.GrpcEndpoint());
        var dapr = new DaprGrpc.DaprClient(channel);

        var response = await dapr.InvokeServiceAsync(new InvokeServiceRequest
        {
            Id = GrpcInvocationFixture.BoxOfficeAppId,
            Message = new InvokeRequest
            {
                Method = "tickets/t-7",
                ContentType = "text/plain",
                Data = new Any { Value = ByteString.CopyFromUtf8("row 12") },
                HttpExtension = new HTTPExtension { Verb = HTTPExtension.Types.Verb.Put, Querystring = "hold=true" },
            },
        }, cancellationToken: Cancel);

        Assert.StartsWith("application/json", response.ContentType);
        var ticket = JsonSerializer.Deserialize<JsonElement>(response.Data.Value.ToStringUtf8());
        Assert.Equal("t-7", ticket.GetProperty("id").GetString());
        Assert.Equal("PUT", ticket.GetProperty("verb").GetString());
        Assert.Equal("?hold=true", ticket.GetProperty("query").GetString());
        Assert.Equal("text/plain", ticket.GetProperty("contentType").GetString());
        Assert.Equal("row 12", ticket.GetProperty("body").GetString());
        Assert.Equal("teller", ticket.GetProperty("caller").GetString());
    }

    [Fact]
    public async Task InvokeService_answers_an_http_app_error_with_the_grpc_status_daprd_maps_it_to()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Teller.GrpcEndpoint());
        var dapr = new DaprGrpc.DaprClient(channel);

        var call = dapr.InvokeServiceAsync(new InvokeServiceRequest
        {
            Id = GrpcInvocationFixture.BoxOfficeAppId,
            Message = new InvokeRequest { Method = "tickets/missing", HttpExtension = new HTTPExtension { Verb = HTTPExtension.Types.Verb.Post } },
        }, cancellationToken: Cancel);
        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.NotFound, failure.StatusCode);
        Assert.Equal("Not Found", failure.Status.Detail);
        Assert.Equal("404", (await call.ResponseHeadersAsync).GetValue("dapr-http-status"));
    }

    [Fact]
    public async Task InvokeMethodGrpcAsync_to_an_http_app_fails_as_daprd_does_for_a_call_without_an_http_verb()
    {
        using var dapr = fixture.Teller.CreateDaprClient();

        var failure = await Assert.ThrowsAsync<InvocationException>(() =>
            dapr.InvokeMethodGrpcAsync<StringValue, StringValue>(GrpcInvocationFixture.BoxOfficeAppId, "tickets/t-7", new StringValue { Value = "row 12" }, Cancel));

        var status = Assert.IsType<RpcException>(failure.InnerException);
        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Equal(
            "failed to invoke, id: box-office-http, err: rpc error: code = Internal desc = error invoking app channel: rpc error: code = InvalidArgument desc = missing HTTP extension field",
            status.Status.Detail);
    }

    [Fact]
    public async Task InvokeMethodGrpcAsync_to_an_unknown_app_fails_with_the_status_daprd_gives()
    {
        using var dapr = fixture.Teller.CreateDaprClient();

        var failure = await Assert.ThrowsAsync<InvocationException>(() =>
            dapr.InvokeMethodGrpcAsync<StringValue, StringValue>("ghost-bank", "deposit", new StringValue { Value = "1 EUR" }, Cancel));

        var status = Assert.IsType<RpcException>(failure.InnerException);
        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Equal("failed to invoke, id: ghost-bank, err: app id 'ghost-bank' is not running in this runtime", status.Status.Detail);
    }

    [Fact]
    public async Task Access_control_denies_InvokeService_on_the_called_side_and_the_app_is_not_called()
    {
        using var dapr = fixture.Intruder.CreateDaprClient();
        var before = fixture.Bank.Invocations.Count(i => i.Caller == "intruder");

        var failure = await Assert.ThrowsAsync<InvocationException>(() =>
            dapr.InvokeMethodGrpcAsync<StringValue, StringValue>(GrpcInvocationFixture.BankAppId, "deposit", new StringValue { Value = "1 EUR" }, Cancel));

        var status = Assert.IsType<RpcException>(failure.InnerException);
        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Equal(
            "failed to invoke, id: bank-grpc, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: spiffe://public/ns/default/intruder operation: deposit verb: NONE",
            status.Status.Detail);
        Assert.Equal(before, fixture.Bank.Invocations.Count(i => i.Caller == "intruder"));
    }

    [Fact]
    public async Task A_grpc_app_gets_the_topics_it_lists_through_OnTopicEvent_and_RETRY_brings_the_event_again()
    {
        using var publisher = fixture.Teller.CreateDaprClient();

        await publisher.PublishEventAsync("pubsub", "bank.deposits", new { account = "a-1", amount = 40 }, Cancel);

        await TestSupport.EventuallyAsync(() => fixture.Bank.Deposits.Count >= 2, "the RETRY answer and the delivery after it");
        var deliveries = fixture.Bank.Deposits.ToArray();
        Assert.Equal(deliveries[0].Id, deliveries[1].Id);
        var deposit = deliveries[1];
        Assert.Equal("bank.deposits", deposit.Topic);
        Assert.Equal("pubsub", deposit.PubsubName);
        Assert.Equal("/deposits", deposit.Path);
        Assert.Equal("teller", deposit.Source);
        Assert.Equal("com.dapr.event.sent", deposit.Type);
        Assert.Equal("1.0", deposit.SpecVersion);
        Assert.Equal("application/json", deposit.DataContentType);
        var data = JsonSerializer.Deserialize<JsonElement>(deposit.Data.ToStringUtf8());
        Assert.Equal("a-1", data.GetProperty("account").GetString());
        Assert.Equal(40, data.GetProperty("amount").GetInt32());
        Assert.True(deposit.Extensions.Fields.ContainsKey("traceparent"));
        await Task.Delay(TimeSpan.FromMilliseconds(500), Cancel);
        Assert.Equal(2, fixture.Bank.Deposits.Count);
    }

    [Fact]
    public async Task A_grpc_app_that_answers_DROP_has_the_event_dead_lettered_at_once()
    {
        using var publisher = fixture.Teller.CreateDaprClient();
        var deadLetters = fixture.Host.Runtime.Services.GetRequiredService<DeadLetters>();

        await publisher.PublishEventAsync("pubsub", "bank.chargebacks", new { account = "a-1", amount = 40 }, Cancel);

        await TestSupport.EventuallyAsync(async () => (await deadLetters.ListAsync(GrpcInvocationFixture.BankAppId, "bank.chargebacks", cancellationToken: Cancel)).Count == 1,
            "the dropped chargeback in the dead-letter audit");
        var dropped = Assert.Single(await deadLetters.ListAsync(GrpcInvocationFixture.BankAppId, "bank.chargebacks", cancellationToken: Cancel));
        Assert.Equal(DeadLetterReasons.DroppedByApp, dropped.Reason);
        Assert.Equal(1, dropped.Attempts);
    }

    [Fact]
    public async Task Grpc_apps_with_a_bulk_subscription_get_batches_through_OnBulkTopicEvent_or_the_Alpha1_fallback_answered_per_entry()
    {
        using var publisher = fixture.Teller.CreateDaprClient();
        var deadLetters = fixture.Host.Runtime.Services.GetRequiredService<DeadLetters>();

        foreach (var account in new[] { "a-1", "closed-7", "a-2" })
        {
            await publisher.PublishEventAsync("pubsub", "bank.statements", new { account }, Cancel);
        }

        foreach (var (appId, book) in new[] { (GrpcInvocationFixture.BankAppId, fixture.Bank.Statements), (GrpcInvocationFixture.ArchiveAppId, fixture.Archive) })
        {
            // Only drops count: the test of undecodable events dead-letters on this topic too.
            await TestSupport.EventuallyAsync(async () => (await deadLetters.ListAsync(appId, "bank.statements", cancellationToken: Cancel)).Count(d => d.Reason == DeadLetterReasons.DroppedByApp) == 1
                && book.Accounts().Count() >= 3, $"three statements delivered to {appId}, the closed account's dead-lettered");
            var batch = book.Batches.First();
            Assert.Equal(("pubsub", "bank.statements", "/statements", "com.dapr.event.sent.bulk"), (batch.PubsubName, batch.Topic, batch.Path, batch.Type));
            var entry = batch.Entries[0];
            Assert.Equal("application/cloudevents+json", entry.ContentType);
            Assert.Equal(("teller", "com.dapr.event.sent", "1.0", "application/json"), (entry.CloudEvent.Source, entry.CloudEvent.Type, entry.CloudEvent.SpecVersion, entry.CloudEvent.DataContentType));
            var dropped = Assert.Single(await deadLetters.ListAsync(appId, "bank.statements", cancellationToken: Cancel), d => d.Reason == DeadLetterReasons.DroppedByApp);
            Assert.Contains("closed-7", dropped.CloudEventJson);
        }

        // Taken entries are not delivered again, and no statement went through OnTopicEvent.
        await Task.Delay(TimeSpan.FromMilliseconds(500), Cancel);
        Assert.Equal(["a-1", "a-2", "closed-7"], fixture.Bank.Statements.Accounts().Order());
        Assert.Equal(["a-1", "a-2", "closed-7"], fixture.Archive.Accounts().Order());
        Assert.DoesNotContain(fixture.Bank.Deposits, d => d.Topic == "bank.statements");
    }

    [Fact]
    public async Task A_bulk_delivery_whose_only_event_cannot_be_decoded_is_never_an_empty_batch_to_the_app()
    {
        using var publisher = fixture.Teller.CreateDaprClient();
        var deadLetters = fixture.Host.Runtime.Services.GetRequiredService<DeadLetters>();
        var undecodable = """{"specversion":"1.0","id":"undecodable-1","source":"teller","type":"com.dapr.event.sent","datacontenttype":"application/octet-stream","data_base64":"not base64!"}""";

        await publisher.PublishByteEventAsync("pubsub", "bank.statements", Encoding.UTF8.GetBytes(undecodable), "application/cloudevents+json", cancellationToken: Cancel);

        foreach (var appId in new[] { GrpcInvocationFixture.BankAppId, GrpcInvocationFixture.ArchiveAppId })
        {
            await TestSupport.EventuallyAsync(async () => (await deadLetters.ListAsync(appId, "bank.statements", cancellationToken: Cancel))
                .Any(d => d.MessageId == "undecodable-1"), $"the undecodable event dead-lettered for {appId}");
            var letter = (await deadLetters.ListAsync(appId, "bank.statements", cancellationToken: Cancel)).Single(d => d.MessageId == "undecodable-1");
            Assert.Equal(DeadLetterReasons.RetriesExhausted, letter.Reason);
            Assert.Contains("not base64", letter.LastError);
        }

        Assert.DoesNotContain(fixture.Bank.Statements.Batches, batch => batch.Entries.Count == 0);
        Assert.DoesNotContain(fixture.Archive.Batches, batch => batch.Entries.Count == 0);
    }
}
