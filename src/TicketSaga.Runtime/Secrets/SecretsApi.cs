using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TicketSaga.Runtime.Api;

namespace TicketSaga.Runtime.Secrets;

/// <summary>
/// Dapr's HTTP secrets API: <c>GET /v1.0/secrets/&lt;store&gt;/&lt;key&gt;</c> and <c>…/bulk</c>, with
/// daprd's status codes and error bodies. Like every sidecar route, it is behind the Dapr API token check.
/// </summary>
public static class SecretsApi
{
    public static WebApplication MapSecretsApi(this WebApplication web)
    {
        web.MapGet("/v1.0/secrets/{store}/bulk", (string store, SecretStores secrets) => Answer(() => Results.Json(secrets.GetBulk(store))));
        web.MapGet("/v1.0/secrets/{store}/{key}", (string store, string key, SecretStores secrets) => Answer(() => Results.Json(secrets.Get(store, key))));
        return web;
    }

    /// <summary>daprd's answers: 500 no store configured, 401 unknown store, 403 denied by scopes, 500 not readable.</summary>
    private static IResult Answer(Func<IResult> handle)
    {
        try
        {
            return handle();
        }
        catch (SecretStoreNotFoundException ex)
        {
            return ex.NoneConfigured
                ? Results.Json(new DaprError("ERR_SECRET_STORES_NOT_CONFIGURED", ex.Message), statusCode: StatusCodes.Status500InternalServerError)
                : Results.Json(new DaprError("ERR_SECRET_STORE_NOT_FOUND", ex.Message), statusCode: StatusCodes.Status401Unauthorized);
        }
        catch (SecretAccessDeniedException ex)
        {
            return Results.Json(new DaprError("ERR_PERMISSION_DENIED", ex.Message), statusCode: StatusCodes.Status403Forbidden);
        }
        catch (SecretUnavailableException ex)
        {
            return Results.Json(new DaprError("ERR_SECRET_GET", ex.Message), statusCode: StatusCodes.Status500InternalServerError);
        }
    }
}
