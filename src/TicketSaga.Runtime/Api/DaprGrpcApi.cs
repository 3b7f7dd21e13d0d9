using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using TicketSaga.Runtime.Bindings;
using TicketSaga.Runtime.Invocation;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Runtime.Secrets;
using TicketSaga.Runtime.State;

namespace TicketSaga.Runtime.Api;

/// <summary>
/// The Dapr gRPC API (<c>dapr.proto.runtime.v1.Dapr</c>) without .proto files: methods are bound from
/// Dapr.Protos' message classes. Only what the runtime serves is bound (README, "Dapr APIs the embedded
/// runtime serves"); every other Dapr method answers Unimplemented.
/// </summary>
public sealed class DaprGrpcApi(
    Publisher publisher, StateStores state, SecretStores secrets, OutputBindings bindings, SidecarMetadata metadata, DirectInvocation invocation, IHostApplicationLifetime lifetime)
{
    public const string ServiceName = "dapr.proto.runtime.v1.Dapr";

    private async Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context)
    {
        try
        {
            await publisher.PublishAsync(request.PubsubName, request.Topic, request.Data.Memory, request.DataContentType,
                request.Metadata, context.RequestHeaders.GetValue("traceparent"), context.CancellationToken);
            return new Empty();
        }
        catch (InvalidPublishException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        catch (PublishForbiddenException ex)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, ex.Message));
        }
    }

    private Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context) => StateCall("", async () =>
    {
        var response = new GetStateResponse();
        if (await state.GetAsync(request.StoreName, request.Key, context.CancellationToken) is { } value)
        {
            response.Data = ByteString.CopyFrom(value.Value);
            response.Etag = value.ETag;
            response.Metadata.Add(value.Metadata);
        }

        return response;
    });

    private Task<GetBulkStateResponse> GetBulkState(GetBulkStateRequest request, ServerCallContext context) => StateCall("", async () =>
    {
        var response = new GetBulkStateResponse();
        foreach (var (key, value) in await state.GetBulkAsync(request.StoreName, request.Keys, context.CancellationToken))
        {
            var item = new BulkStateItem { Key = key };
            if (value is not null)
            {
                item.Data = ByteString.CopyFrom(value.Value);
                item.Etag = value.ETag;
                item.Metadata.Add(value.Metadata);
            }

            response.Items.Add(item);
        }

        return response;
    });

    private Task<Empty> SaveState(SaveStateRequest request, ServerCallContext context) => StateCall($"failed saving state in state store {request.StoreName}: ", async () =>
    {
        await state.ApplyAsync(request.StoreName, [.. request.States.Select(s => Operation(StateOperationKind.Upsert, s))], context.CancellationToken);
        return new Empty();
    });

    private Task<Empty> DeleteState(DeleteStateRequest request, ServerCallContext context) => StateCall($"failed deleting state with key {request.Key}: ", async () =>
    {
        var item = new StateItem { Key = request.Key, Etag = request.Etag, Options = request.Options };
        item.Metadata.Add(request.Metadata);
        await state.ApplyAsync(request.StoreName, [Operation(StateOperationKind.Delete, item)], context.CancellationToken);
        return new Empty();
    });

    private Task<Empty> DeleteBulkState(DeleteBulkStateRequest request, ServerCallContext context) => StateCall($"failed deleting state in state store {request.StoreName}: ", async () =>
    {
        await state.ApplyAsync(request.StoreName, [.. request.States.Select(s => Operation(StateOperationKind.Delete, s))], context.CancellationToken);
        return new Empty();
    });

    private Task<Empty> ExecuteStateTransaction(ExecuteStateTransactionRequest request, ServerCallContext context) => StateCall("error while executing state transaction: ", transaction: true, call: async () =>
    {
        var operations = request.Operations.Select(o => Operation(o.OperationType switch
        {
            "upsert" => StateOperationKind.Upsert,
            "delete" => StateOperationKind.Delete,
            var other => throw new InvalidStateRequestException($"operation type {other} not supported"),
        }, o.Request ?? throw new InvalidStateRequestException("each operation needs a request")));
        await state.ApplyAsync(request.StoreName, [.. operations], context.CancellationToken);
        return new Empty();
    });

    private static StateOperation Operation(StateOperationKind kind, StateItem item) => new(
        kind,
        item.Key,
        kind == StateOperationKind.Upsert ? item.Value.ToByteArray() : null,
        item.Etag is { Value.Length: > 0 } etag ? etag.Value : null,
        item.Options?.Concurrency == StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite,
        item.Metadata);

    /// <summary>
    /// daprd's gRPC answers (pkg/api/grpc/grpc.go): InvalidArgument for an unknown store or bad input; a save or delete
    /// answers Aborted for an ETag mismatch (the SDK's Try… methods read it as false) and Internal for any other store
    /// error (a first-write conflict); a transaction answers Internal for both.
    /// </summary>
    private static async Task<T> StateCall<T>(string failurePrefix, Func<Task<T>> call, bool transaction = false)
    {
        try
        {
            return await call();
        }
        catch (StateStoreNotFoundException ex)
        {
            throw new RpcException(new Status(ex.NoneConfigured ? StatusCode.FailedPrecondition : StatusCode.InvalidArgument, ex.Message));
        }
        catch (InvalidStateRequestException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        catch (StateETagMismatchException ex)
        {
            throw new RpcException(new Status(transaction ? StatusCode.Internal : StatusCode.Aborted, failurePrefix + ex.Message));
        }
        catch (StateFirstWriteConflictException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, failurePrefix + ex.Message));
        }
    }

    private Task<GetSecretResponse> GetSecret(GetSecretRequest request, ServerCallContext context) => SecretCall(() =>
    {
        var response = new GetSecretResponse();
        response.Data.Add(secrets.Get(request.StoreName, request.Key).ToDictionary());
        return response;
    });

    private Task<GetBulkSecretResponse> GetBulkSecret(GetBulkSecretRequest request, ServerCallContext context) => SecretCall(() =>
    {
        var response = new GetBulkSecretResponse();
        foreach (var (key, values) in secrets.GetBulk(request.StoreName))
        {
            var secret = new SecretResponse();
            secret.Secrets.Add(values.ToDictionary());
            response.Data.Add(key, secret);
        }

        return response;
    });

    /// <summary>daprd's gRPC answers: FailedPrecondition no store, InvalidArgument unknown store, PermissionDenied by scopes, Internal not readable.</summary>
    private static Task<T> SecretCall<T>(Func<T> call)
    {
        try
        {
            return Task.FromResult(call());
        }
        catch (SecretStoreNotFoundException ex)
        {
            throw new RpcException(new Status(ex.NoneConfigured ? StatusCode.FailedPrecondition : StatusCode.InvalidArgument, ex.Message));
        }
        catch (SecretAccessDeniedException ex)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, ex.Message));
        }
        catch (SecretUnavailableException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, ex.Message));
        }
    }

    /// <summary>
    /// daprd's <c>InvokeBinding</c>: the binding's answer metadata also as <c>metadata.&lt;key&gt;</c> response headers,
    /// any failure <c>Internal</c> with the HTTP API's message.
    /// </summary>
    private async Task<InvokeBindingResponse> InvokeBinding(InvokeBindingRequest request, ServerCallContext context)
    {
        var response = new InvokeBindingResponse();
        try
        {
            var answer = await bindings.InvokeAsync(request.Name, new BindingRequest(request.Operation, request.Data.ToByteArray(), request.Metadata.ToDictionary()), context.CancellationToken);
            if (answer is null)
            {
                return response;
            }

            var headers = new Metadata();
            foreach (var (key, value) in answer.Metadata)
            {
                headers.Add("metadata." + key.ToLowerInvariant(), value);
            }

            await context.WriteResponseHeadersAsync(headers);
            response.Data = ByteString.CopyFrom(answer.Data ?? []);
            response.Metadata.Add(answer.Metadata.ToDictionary());
            return response;
        }
        catch (BindingInvocationException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"error invoking output binding {request.Name}: {ex.Message}"));
        }
    }

    private Task<InvokeResponse> InvokeService(InvokeServiceRequest request, ServerCallContext context) => invocation.InvokeServiceAsync(request, context);

    private Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) => Task.FromResult(metadata.ToGrpc());

    private Task<Empty> SetMetadata(SetMetadataRequest request, ServerCallContext context)
    {
        metadata.Set(request.Key, request.Value);
        return Task.FromResult(new Empty());
    }

    private Task<Empty> Shutdown(ShutdownRequest request, ServerCallContext context)
    {
        context.GetHttpContext().Response.OnCompleted(() =>
        {
            lifetime.StopApplication();
            return Task.CompletedTask;
        });
        return Task.FromResult(new Empty());
    }

    internal sealed class MethodProvider : IServiceMethodProvider<DaprGrpcApi>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<DaprGrpcApi> context)
        {
            Bind<PublishEventRequest, Empty>(context, "PublishEvent", PublishEventRequest.Parser, (api, request, call) => api.PublishEvent(request, call));
            Bind<GetStateRequest, GetStateResponse>(context, "GetState", GetStateRequest.Parser, (api, request, call) => api.GetState(request, call));
            Bind<GetBulkStateRequest, GetBulkStateResponse>(context, "GetBulkState", GetBulkStateRequest.Parser, (api, request, call) => api.GetBulkState(request, call));
            Bind<SaveStateRequest, Empty>(context, "SaveState", SaveStateRequest.Parser, (api, request, call) => api.SaveState(request, call));
            Bind<DeleteStateRequest, Empty>(context, "DeleteState", DeleteStateRequest.Parser, (api, request, call) => api.DeleteState(request, call));
            Bind<DeleteBulkStateRequest, Empty>(context, "DeleteBulkState", DeleteBulkStateRequest.Parser, (api, request, call) => api.DeleteBulkState(request, call));
            Bind<ExecuteStateTransactionRequest, Empty>(context, "ExecuteStateTransaction", ExecuteStateTransactionRequest.Parser, (api, request, call) => api.ExecuteStateTransaction(request, call));
            Bind<GetSecretRequest, GetSecretResponse>(context, "GetSecret", GetSecretRequest.Parser, (api, request, call) => api.GetSecret(request, call));
            Bind<GetBulkSecretRequest, GetBulkSecretResponse>(context, "GetBulkSecret", GetBulkSecretRequest.Parser, (api, request, call) => api.GetBulkSecret(request, call));
            Bind<InvokeBindingRequest, InvokeBindingResponse>(context, "InvokeBinding", InvokeBindingRequest.Parser, (api, request, call) => api.InvokeBinding(request, call));
            Bind<InvokeServiceRequest, InvokeResponse>(context, "InvokeService", InvokeServiceRequest.Parser, (api, request, call) => api.InvokeService(request, call));
            Bind<GetMetadataRequest, GetMetadataResponse>(context, "GetMetadata", GetMetadataRequest.Parser, (api, request, call) => api.GetMetadata(request, call));
            Bind<SetMetadataRequest, Empty>(context, "SetMetadata", SetMetadataRequest.Parser, (api, request, call) => api.SetMetadata(request, call));
            Bind<ShutdownRequest, Empty>(context, "Shutdown", ShutdownRequest.Parser, (api, request, call) => api.Shutdown(request, call));
        }

        private static void Bind<TRequest, TResponse>(
            ServiceMethodProviderContext<DaprGrpcApi> context, string name, MessageParser<TRequest> parser,
            UnaryServerMethod<DaprGrpcApi, TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>
            where TResponse : class, IMessage<TResponse>, new()
        {
            var responseParser = new MessageParser<TResponse>(() => new TResponse());
            var method = new Method<TRequest, TResponse>(MethodType.Unary, ServiceName, name,
                Marshallers.Create(r => r.ToByteArray(), parser.ParseFrom),
                Marshallers.Create(r => r.ToByteArray(), responseParser.ParseFrom));
            context.AddUnaryMethod(method, [], handler);
        }
    }
}
