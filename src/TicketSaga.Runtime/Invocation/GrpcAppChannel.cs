using System.Collections.Concurrent;
using System.Text.Json;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Http;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Invocation;

/// <summary>
/// How a sidecar calls an app with <c>appProtocol: grpc</c>, as daprd does: Dapr's <c>AppCallback</c> service
/// (ListTopicSubscriptions and ListInputBindings at start, OnTopicEvent per delivery, OnBindingEvent per input binding event, OnInvoke per service invocation) instead
/// of HTTP routes, with the app API token on every call. One HTTP/2 channel per app.
/// </summary>
public sealed class GrpcAppChannel : IDisposable
{
    /// <summary>What daprd answers for data whose <c>Any</c> names a protobuf type.</summary>
    public const string ProtobufContentType = "application/x-protobuf";

    private readonly ConcurrentDictionary<Uri, GrpcChannel> _channels = new();

    public AppCallbackClient For(AppDescriptor app) => new(_channels.GetOrAdd(app.AppAddress, address => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true },
        // A stopping sidecar sees its own cancellation, as on its HTTP calls, not a Cancelled status.
        ThrowOperationCanceledOnCancellation = true,
        DisposeHttpClient = true,
    })).CreateCallInvoker());

    /// <summary>Call options carrying the app API token, as daprd sends it to the app.</summary>
    public static CallOptions Options(AppDescriptor app, Metadata? headers, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        headers ??= [];
        if (app.AppApiToken is not null)
        {
            headers.Add(AppDescriptor.TokenHeader, app.AppApiToken);
        }

        return new CallOptions(headers, timeout is { } within ? DateTime.UtcNow + within : null, cancellationToken);
    }

    /// <summary>
    /// An HTTP call of a gRPC app, as daprd's HTTP API makes it: OnInvoke with the method, body, content type,
    /// verb and query string; its data and content type are the HTTP answer, a failed status becomes the
    /// HTTP status daprd maps it to with the status as JSON.
    /// </summary>
    public async Task InvokeFromHttpAsync(HttpContext context, string callerAppId, AppDescriptor target, string method)
    {
        var cancellationToken = context.RequestAborted;
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, cancellationToken);
        var request = new InvokeRequest
        {
            Method = method,
            ContentType = context.Request.ContentType ?? "",
            Data = new Any { Value = ByteString.CopyFrom(body.GetBuffer(), 0, (int)body.Length) },
            HttpExtension = new HTTPExtension
            {
                Verb = System.Enum.TryParse<HTTPExtension.Types.Verb>(context.Request.Method, ignoreCase: true, out var verb) ? verb : HTTPExtension.Types.Verb.Post,
                Querystring = context.Request.QueryString.HasValue ? context.Request.QueryString.Value![1..] : "",
            },
        };

        var headers = HeadersOf(context.Request.Headers);
        AddCallerAndCallee(headers, callerAppId, target.AppId);
        try
        {
            var response = await For(target).OnInvokeAsync(request, Options(target, headers, cancellationToken));
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (ContentTypeOf(response) is { Length: > 0 } contentType)
            {
                context.Response.ContentType = contentType;
            }

            if (response.Data is { } data)
            {
                await context.Response.Body.WriteAsync(data.Value.Memory, cancellationToken);
            }
        }
        catch (RpcException ex)
        {
            context.Response.StatusCode = HttpStatusOf(ex.StatusCode);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { code = (int)ex.StatusCode, message = ex.Status.Detail }), cancellationToken);
        }
    }

    /// <summary>
    /// daprd's OnTopicEvent envelope of a CloudEvent: its attributes, the data as bytes (<c>data_base64</c>
    /// decoded, text as text, JSON as JSON; other content types carry none), every other attribute an extension.
    /// </summary>
    /// <exception cref="FormatException"><c>data_base64</c> is not base64.</exception>
    public static TopicEventRequest TopicEventFor(JsonElement cloudEvent, string path)
    {
        string Attribute(string name) => cloudEvent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

        var request = new TopicEventRequest
        {
            Id = Attribute("id"),
            Source = Attribute("source"),
            Type = Attribute("type"),
            SpecVersion = Attribute("specversion"),
            DataContentType = Attribute("datacontenttype"),
            Topic = Attribute("topic"),
            PubsubName = Attribute("pubsubname"),
            Path = path,
        };
        var contentType = request.DataContentType.ToLowerInvariant();
        if (cloudEvent.TryGetProperty("data_base64", out var base64) && base64.ValueKind != JsonValueKind.Null)
        {
            request.Data = ByteString.FromBase64(base64.GetString());
        }
        else if (cloudEvent.TryGetProperty("data", out var data) && data.ValueKind != JsonValueKind.Null)
        {
            if (contentType.StartsWith("text/", StringComparison.Ordinal) || contentType.StartsWith("application/xml", StringComparison.Ordinal))
            {
                request.Data = ByteString.CopyFromUtf8(data.ValueKind == JsonValueKind.String ? data.GetString() : data.GetRawText());
            }
            else if (contentType.Contains("json", StringComparison.Ordinal))
            {
                request.Data = ByteString.CopyFromUtf8(data.GetRawText());
            }
        }

        var extensions = new Dictionary<string, JsonElement>();
        foreach (var attribute in cloudEvent.EnumerateObject().Where(a => !EnvelopeAttributes.Contains(a.Name)))
        {
            extensions[attribute.Name] = attribute.Value;
        }

        request.Extensions = JsonParser.Default.Parse<Struct>(JsonSerializer.Serialize(extensions));
        return request;
    }

    /// <summary>A bulk entry's event as daprd sends it to a gRPC app: the CloudEvent's attributes and data as in <see cref="TopicEventFor"/>.</summary>
    /// <exception cref="FormatException"><c>data_base64</c> is not base64.</exception>
    public static TopicEventCERequest CloudEventFor(JsonElement cloudEvent)
    {
        var single = TopicEventFor(cloudEvent, "");
        return new TopicEventCERequest
        {
            Id = single.Id,
            Source = single.Source,
            Type = single.Type,
            SpecVersion = single.SpecVersion,
            DataContentType = single.DataContentType,
            Data = single.Data,
            Extensions = single.Extensions,
        };
    }

    private static readonly HashSet<string> EnvelopeAttributes = ["id", "source", "datacontenttype", "type", "specversion", "data", "data_base64"];

    /// <summary>daprd's content type of an app's answer: protobuf when the data names its type.</summary>
    public static string ContentTypeOf(InvokeResponse response) =>
        response.Data is { TypeUrl.Length: > 0 } ? ProtobufContentType : response.ContentType;

    public static void AddCallerAndCallee(Metadata headers, string callerAppId, string calleeAppId)
    {
        headers.Add("dapr-caller-app-id", callerAppId);
        headers.Add("dapr-callee-app-id", calleeAppId);
    }

    /// <summary>
    /// HTTP headers as gRPC metadata the way daprd passes them to a gRPC app: IANA's permanent request
    /// headers prefixed <c>dapr-</c>, connection headers and the caller's tokens and ids left out.
    /// </summary>
    private static Metadata HeadersOf(IHeaderDictionary httpHeaders)
    {
        var metadata = new Metadata();
        foreach (var (name, values) in httpHeaders)
        {
            var key = name.ToLowerInvariant();
            if (NotPassed.Contains(key) || key.StartsWith("grpc-", StringComparison.Ordinal) || key.EndsWith("-bin", StringComparison.Ordinal)
                || !key.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.'))
            {
                continue;
            }

            foreach (var value in values)
            {
                metadata.Add(PermanentHttpHeaders.Contains(key) ? "dapr-" + key : key, value ?? "");
            }
        }

        return metadata;
    }

    private static readonly HashSet<string> NotPassed =
    [
        "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "content-length",
        AppDescriptor.TokenHeader, "dapr-caller-app-id", "dapr-callee-app-id", InvocationExtensions.AppIdHeader,
    ];

    private static readonly HashSet<string> PermanentHttpHeaders =
    [
        "accept", "accept-charset", "accept-language", "accept-ranges", "cache-control", "content-type", "cookie", "date", "expect", "from",
        "if-match", "if-modified-since", "if-none-match", "if-schedule-tag-match", "if-unmodified-since", "max-forwards", "origin", "pragma",
        "referer", "via", "warning",
    ];

    /// <summary>daprd's HTTPStatusFromCode.</summary>
    private static int HttpStatusOf(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => StatusCodes.Status408RequestTimeout,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }
}

/// <summary>The calls of Dapr's <c>AppCallback</c> service a sidecar makes (Dapr.Protos ships only the app's side of it).</summary>
public sealed class AppCallbackClient(CallInvoker invoker)
{
    private const string ServiceName = "dapr.proto.runtime.v1.AppCallback";

    private static readonly Method<InvokeRequest, InvokeResponse> OnInvoke = Unary("OnInvoke", InvokeRequest.Parser, InvokeResponse.Parser);

    private static readonly Method<Empty, ListTopicSubscriptionsResponse> ListTopicSubscriptions =
        Unary("ListTopicSubscriptions", Empty.Parser, ListTopicSubscriptionsResponse.Parser);

    private static readonly Method<TopicEventRequest, TopicEventResponse> OnTopicEvent = Unary("OnTopicEvent", TopicEventRequest.Parser, TopicEventResponse.Parser);

    public AsyncUnaryCall<InvokeResponse> OnInvokeAsync(InvokeRequest request, CallOptions options) => invoker.AsyncUnaryCall(OnInvoke, null, options, request);

    public AsyncUnaryCall<ListTopicSubscriptionsResponse> ListTopicSubscriptionsAsync(Empty request, CallOptions options) => invoker.AsyncUnaryCall(ListTopicSubscriptions, null, options, request);

    private static readonly Method<TopicEventBulkRequest, TopicEventBulkResponse> OnBulkTopicEvent =
        Unary("OnBulkTopicEvent", TopicEventBulkRequest.Parser, TopicEventBulkResponse.Parser);

    private static readonly Method<TopicEventBulkRequest, TopicEventBulkResponse> OnBulkTopicEventAlpha1 =
        Unary("OnBulkTopicEventAlpha1", TopicEventBulkRequest.Parser, TopicEventBulkResponse.Parser, "dapr.proto.runtime.v1.AppCallbackAlpha");

    public AsyncUnaryCall<TopicEventResponse> OnTopicEventAsync(TopicEventRequest request, CallOptions options) => invoker.AsyncUnaryCall(OnTopicEvent, null, options, request);

    /// <summary>A bulk subscription's batch.</summary>
    public AsyncUnaryCall<TopicEventBulkResponse> OnBulkTopicEventAsync(TopicEventBulkRequest request, CallOptions options) => invoker.AsyncUnaryCall(OnBulkTopicEvent, null, options, request);

    /// <summary>The same on <c>AppCallbackAlpha</c>, which apps built before <c>OnBulkTopicEvent</c> implement.</summary>
    public AsyncUnaryCall<TopicEventBulkResponse> OnBulkTopicEventAlpha1Async(TopicEventBulkRequest request, CallOptions options) => invoker.AsyncUnaryCall(OnBulkTopicEventAlpha1, null, options, request);

    private static readonly Method<Empty, ListInputBindingsResponse> ListInputBindings =
        Unary("ListInputBindings", Empty.Parser, ListInputBindingsResponse.Parser);

    private static readonly Method<BindingEventRequest, BindingEventResponse> OnBindingEvent =
        Unary("OnBindingEvent", BindingEventRequest.Parser, BindingEventResponse.Parser);

    /// <summary>The input bindings a gRPC app reads, asked once at start.</summary>
    public AsyncUnaryCall<ListInputBindingsResponse> ListInputBindingsAsync(Empty request, CallOptions options) => invoker.AsyncUnaryCall(ListInputBindings, null, options, request);

    /// <summary>One input binding event.</summary>
    public AsyncUnaryCall<BindingEventResponse> OnBindingEventAsync(BindingEventRequest request, CallOptions options) => invoker.AsyncUnaryCall(OnBindingEvent, null, options, request);

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(
        string name, MessageParser<TRequest> requestParser, MessageParser<TResponse> responseParser, string service = ServiceName)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        new(MethodType.Unary, service, name, Marshallers.Create(r => r.ToByteArray(), requestParser.ParseFrom),
            Marshallers.Create(r => r.ToByteArray(), responseParser.ParseFrom));
}
