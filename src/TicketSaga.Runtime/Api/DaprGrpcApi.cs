using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Runtime.Api;

/// <summary>
/// The Dapr gRPC API (<c>dapr.proto.runtime.v1.Dapr</c>) without .proto files: methods are bound from
/// Dapr.Protos' message classes. Only what the services use is bound; every other Dapr method
/// answers Unimplemented.
/// </summary>
public sealed class DaprGrpcApi(Publisher publisher, SidecarMetadata metadata, IHostApplicationLifetime lifetime)
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

    private Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) => Task.FromResult(metadata.ToGrpc());

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
            Bind<GetMetadataRequest, GetMetadataResponse>(context, "GetMetadata", GetMetadataRequest.Parser, (api, request, call) => api.GetMetadata(request, call));
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
