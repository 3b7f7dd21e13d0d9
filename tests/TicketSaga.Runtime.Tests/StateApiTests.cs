using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Tests;

/// <summary>The Dapr state API through the real SDK (gRPC) and over HTTP, as daprd answers it.</summary>
public sealed class StateApiTests(DaprApiFixture dapr) : IClassFixture<DaprApiFixture>
{
    private const string Store = "statestore";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private DaprClient Client => dapr.Client;

    private static string NewKey() => "cart-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task A_saved_value_reads_back_and_is_stored_under_the_app_id_as_json()
    {
        var key = NewKey();

        await Client.SaveStateAsync(Store, key, new Cart("alice", 3), cancellationToken: Cancel);

        Assert.Equal(new Cart("alice", 3), await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel));
        await using var command = dapr.Host.Runtime.Services.GetRequiredService<NpgsqlDataSource>()
            .CreateCommand("SELECT key, convert_from(value, 'UTF8') FROM state WHERE store_name = @store AND key LIKE '%' || @key");
        command.Parameters.AddWithValue("store", Store);
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        Assert.True(await reader.ReadAsync(Cancel));
        Assert.Equal($"{DaprApiFixture.AppId}||{key}", reader.GetString(0));
        Assert.Equal("""{"owner":"alice","items":3}""", reader.GetString(1));
    }

    [Fact]
    public async Task A_missing_key_reads_as_the_default_value_with_no_etag()
    {
        var (value, etag) = await Client.GetStateAndETagAsync<Cart>(Store, NewKey(), cancellationToken: Cancel);

        Assert.Null(value);
        Assert.True(string.IsNullOrEmpty(etag));
    }

    [Fact]
    public async Task TrySaveStateAsync_with_the_current_etag_succeeds_and_with_a_stale_one_is_refused_changing_nothing()
    {
        var key = NewKey();
        await Client.SaveStateAsync(Store, key, new Cart("alice", 1), cancellationToken: Cancel);
        var (_, first) = await Client.GetStateAndETagAsync<Cart>(Store, key, cancellationToken: Cancel);

        Assert.True(await Client.TrySaveStateAsync(Store, key, new Cart("alice", 2), first, cancellationToken: Cancel));
        Assert.False(await Client.TrySaveStateAsync(Store, key, new Cart("mallory", 99), first, cancellationToken: Cancel));

        var (value, latest) = await Client.GetStateAndETagAsync<Cart>(Store, key, cancellationToken: Cancel);
        Assert.Equal(new Cart("alice", 2), value);
        Assert.NotEqual(first, latest);
    }

    [Fact]
    public async Task First_write_wins_refuses_a_second_save_without_an_etag_with_Internal_and_last_write_wins_overwrites()
    {
        var key = NewKey();
        var firstWrite = new StateOptions { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong };

        await Client.SaveStateAsync(Store, key, new Cart("alice", 1), firstWrite, cancellationToken: Cancel);
        var refused = await Assert.ThrowsAsync<DaprException>(() => Client.SaveStateAsync(Store, key, new Cart("bob", 2), firstWrite, cancellationToken: Cancel));
        // state.postgresql v2 reports this as a plain error, not an ETag error: daprd answers Internal, not Aborted.
        var status = Assert.IsType<RpcException>(refused.InnerException).Status;
        Assert.Equal((StatusCode.Internal, $"failed saving state in state store {Store}: no item was updated"), (status.StatusCode, status.Detail));
        Assert.Equal(new Cart("alice", 1), await Client.GetStateAsync<Cart>(Store, key, ConsistencyMode.Eventual, cancellationToken: Cancel));

        await Client.SaveStateAsync(Store, key, new Cart("bob", 2), new StateOptions { Concurrency = ConcurrencyMode.LastWrite }, cancellationToken: Cancel);
        Assert.Equal(new Cart("bob", 2), await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel));
    }

    [Fact]
    public async Task A_value_saved_with_ttlInSeconds_reports_its_expiry_and_then_reads_as_missing()
    {
        var key = NewKey();
        await Client.SaveStateAsync(Store, key, new Cart("alice", 1), metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "1" }, cancellationToken: Cancel);

        using var http = dapr.CreateHttpClient();
        using var response = await http.GetAsync($"/v1.0/state/{Store}/{key}", Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(DateTimeOffset.TryParse(response.Headers.GetValues("metadata.ttlExpireTime").Single(), out var expiresAt));
        Assert.InRange(expiresAt, DateTimeOffset.UtcNow.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));

        await TestSupport.EventuallyAsync(async () => await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel) is null, "the value to expire", seconds: 10);
    }

    [Theory]
    [InlineData("/v1.0/state/statestore?metadata.ttlInSeconds=60", """[{"key":"{key}","value":1,"metadata":{"ttlInSeconds":"3600"}}]""")]
    [InlineData("/v1.0/state/statestore/transaction?metadata.ttlInSeconds=60", """{"operations":[{"operation":"upsert","request":{"key":"{key}","value":1}}]}""")]
    public async Task Metadata_in_the_query_applies_to_every_item_and_wins_over_the_items_own(string path, string body)
    {
        var key = NewKey();
        using var http = dapr.CreateHttpClient();

        using var saved = await http.PostAsync(path, new StringContent(body.Replace("{key}", key, StringComparison.Ordinal), Encoding.UTF8, "application/json"), Cancel);

        Assert.Equal(HttpStatusCode.NoContent, saved.StatusCode);
        using var response = await http.GetAsync($"/v1.0/state/{Store}/{key}", Cancel);
        Assert.True(DateTimeOffset.TryParse(response.Headers.GetValues("metadata.ttlExpireTime").Single(), out var expiresAt));
        Assert.InRange(expiresAt, DateTimeOffset.UtcNow.AddSeconds(50), DateTimeOffset.UtcNow.AddSeconds(70));
    }

    [Fact]
    public async Task GetBulkStateAsync_answers_every_key_asked_and_a_missing_one_empty()
    {
        var (a, b, missing) = (NewKey(), NewKey(), NewKey());
        await Client.SaveStateAsync(Store, a, new Cart("alice", 1), cancellationToken: Cancel);
        await Client.SaveStateAsync(Store, b, new Cart("bob", 2), cancellationToken: Cancel);

        var items = await Client.GetBulkStateAsync(Store, [a, b, missing], parallelism: 2, cancellationToken: Cancel);

        Assert.Equal([a, b, missing], items.Select(i => i.Key));
        Assert.Equal(new Cart("bob", 2), JsonSerializer.Deserialize<Cart>(items[1].Value, JsonSerializerOptions.Web));
        Assert.False(string.IsNullOrEmpty(items[0].ETag));
        Assert.True(string.IsNullOrEmpty(items[2].Value));
        Assert.True(string.IsNullOrEmpty(items[2].ETag));
    }

    [Fact]
    public async Task A_transaction_applies_every_operation_or_with_one_stale_etag_none_and_answers_Internal()
    {
        var (kept, removed, added) = (NewKey(), NewKey(), NewKey());
        await Client.SaveStateAsync(Store, kept, new Cart("alice", 1), cancellationToken: Cancel);
        await Client.SaveStateAsync(Store, removed, new Cart("bob", 1), cancellationToken: Cancel);
        var (_, etag) = await Client.GetStateAndETagAsync<Cart>(Store, kept, cancellationToken: Cancel);

        await Client.ExecuteStateTransactionAsync(Store,
        [
            new StateTransactionRequest(kept, JsonSerializer.SerializeToUtf8Bytes(new Cart("alice", 2), JsonSerializerOptions.Web), StateOperationType.Upsert, etag),
            new StateTransactionRequest(removed, null, StateOperationType.Delete),
        ], cancellationToken: Cancel);
        Assert.Equal(new Cart("alice", 2), await Client.GetStateAsync<Cart>(Store, kept, cancellationToken: Cancel));
        Assert.Null(await Client.GetStateAsync<Cart>(Store, removed, cancellationToken: Cancel));

        var refused = await Assert.ThrowsAsync<DaprException>(() => Client.ExecuteStateTransactionAsync(Store,
        [
            new StateTransactionRequest(added, JsonSerializer.SerializeToUtf8Bytes(new Cart("carol", 1), JsonSerializerOptions.Web), StateOperationType.Upsert),
            new StateTransactionRequest(kept, JsonSerializer.SerializeToUtf8Bytes(new Cart("mallory", 9), JsonSerializerOptions.Web), StateOperationType.Upsert, etag),
        ], cancellationToken: Cancel));
        // daprd answers every failed transaction Internal, a stale ETag included.
        Assert.Equal(StatusCode.Internal, Assert.IsType<RpcException>(refused.InnerException).StatusCode);
        Assert.Null(await Client.GetStateAsync<Cart>(Store, added, cancellationToken: Cancel));
        Assert.Equal(new Cart("alice", 2), await Client.GetStateAsync<Cart>(Store, kept, cancellationToken: Cancel));
    }

    [Fact]
    public async Task An_etag_that_is_no_uuid_is_a_mismatch_as_in_state_postgresql_v2()
    {
        var key = NewKey();
        await Client.SaveStateAsync(Store, key, new Cart("alice", 1), cancellationToken: Cancel);

        Assert.False(await Client.TrySaveStateAsync(Store, key, new Cart("mallory", 9), "not-an-etag", cancellationToken: Cancel));
        Assert.False(await Client.TryDeleteStateAsync(Store, key, "not-an-etag", cancellationToken: Cancel));

        Assert.Equal(new Cart("alice", 1), await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel));
    }

    [Fact]
    public async Task Over_http_a_bad_etag_is_409_and_a_first_write_conflict_or_failed_transaction_is_500_as_daprd_answers()
    {
        var key = NewKey();
        using var http = dapr.CreateHttpClient();
        await Client.SaveStateAsync(Store, key, new Cart("alice", 1), cancellationToken: Cancel);

        using (var notAnETag = await http.PostAsJsonAsync($"/v1.0/state/{Store}", new object[] { new { key, value = 2, etag = "not-an-etag" } }, Cancel))
        {
            await AssertDaprErrorAsync(notAnETag, HttpStatusCode.Conflict, "ERR_STATE_SAVE",
                $"failed saving state in state store {Store}: possible etag mismatch. error from state store: invalid UUID length: 11");
        }

        using (var deleteWithBadETag = new HttpRequestMessage(HttpMethod.Delete, $"/v1.0/state/{Store}/{key}"))
        {
            deleteWithBadETag.Headers.TryAddWithoutValidation("If-Match", "not-an-etag");
            using var answer = await http.SendAsync(deleteWithBadETag, Cancel);
            await AssertDaprErrorAsync(answer, HttpStatusCode.Conflict, "ERR_STATE_DELETE",
                $"failed deleting state with key {key}: possible etag mismatch. error from state store: invalid UUID length: 11");
        }

        using (var firstWrite = await http.PostAsJsonAsync($"/v1.0/state/{Store}", new object[] { new { key, value = 3, options = new { concurrency = "first-write" } } }, Cancel))
        {
            await AssertDaprErrorAsync(firstWrite, HttpStatusCode.InternalServerError, "ERR_STATE_SAVE", $"failed saving state in state store {Store}: no item was updated");
        }

        using (var staleTransaction = await http.PostAsJsonAsync($"/v1.0/state/{Store}/transaction", new
        {
            operations = new object[] { new { operation = "upsert", request = new { key, value = 4, etag = Guid.NewGuid().ToString() } } },
        }, Cancel))
        {
            await AssertDaprErrorAsync(staleTransaction, HttpStatusCode.InternalServerError, "ERR_STATE_TRANSACTION",
                "error while executing state transaction: possible etag mismatch. error from state store");
        }

        Assert.Equal(new Cart("alice", 1), await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel));
    }

    [Fact]
    public async Task Byte_values_are_stored_and_returned_as_given()
    {
        var key = NewKey();
        byte[] bytes = [0, 1, 2, 255, 254, 0x7b];

        await Client.SaveByteStateAsync(Store, key, bytes, cancellationToken: Cancel);

        Assert.Equal(bytes, (await Client.GetByteStateAsync(Store, key, cancellationToken: Cancel)).ToArray());
    }

    [Fact]
    public async Task DeleteStateAsync_removes_a_key_and_TryDeleteStateAsync_with_a_stale_etag_is_refused()
    {
        var key = NewKey();
        await Client.SaveStateAsync(Store, key, new Cart("alice", 1), cancellationToken: Cancel);
        var (_, stale) = await Client.GetStateAndETagAsync<Cart>(Store, key, cancellationToken: Cancel);
        await Client.SaveStateAsync(Store, key, new Cart("alice", 2), cancellationToken: Cancel);

        Assert.False(await Client.TryDeleteStateAsync(Store, key, stale, cancellationToken: Cancel));
        Assert.Equal(new Cart("alice", 2), await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel));

        await Client.DeleteStateAsync(Store, key, cancellationToken: Cancel);
        Assert.Null(await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel));
    }

    [Fact]
    public async Task An_unknown_store_is_refused_with_InvalidArgument()
    {
        var refused = await Assert.ThrowsAsync<DaprException>(() => Client.SaveStateAsync("nostore", NewKey(), new Cart("alice", 1), cancellationToken: Cancel));

        var status = Assert.IsType<RpcException>(refused.InnerException).Status;
        Assert.Equal((StatusCode.InvalidArgument, "state store nostore is not found"), (status.StatusCode, status.Detail));
    }

    [Fact]
    public async Task Over_http_save_get_bulk_delete_and_transaction_answer_as_daprd()
    {
        var (key, other) = (NewKey(), NewKey());
        using var http = dapr.CreateHttpClient();

        using (var saved = await http.PostAsJsonAsync($"/v1.0/state/{Store}", new object[] { new { key, value = new { owner = "alice", items = 1 } }, new { key = other, value = "plain" } }, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, saved.StatusCode);
        }

        using var read = await http.GetAsync($"/v1.0/state/{Store}/{key}", Cancel);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("""{"owner":"alice","items":1}""", await read.Content.ReadAsStringAsync(Cancel));
        var etag = read.Headers.ETag?.Tag ?? read.Headers.GetValues("ETag").Single();

        using (var conflict = await http.PostAsJsonAsync($"/v1.0/state/{Store}", new object[] { new { key, value = 2, etag = Guid.NewGuid().ToString() } }, Cancel))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
            var error = await conflict.Content.ReadFromJsonAsync<JsonElement>(Cancel);
            Assert.Equal("ERR_STATE_SAVE", error.GetProperty("errorCode").GetString());
            Assert.StartsWith($"failed saving state in state store {Store}: possible etag mismatch", error.GetProperty("message").GetString());
        }

        using (var bulk = await http.PostAsJsonAsync($"/v1.0/state/{Store}/bulk", new { keys = new[] { key, other, "nothing-here" } }, Cancel))
        {
            var items = await bulk.Content.ReadFromJsonAsync<JsonElement>(Cancel);
            Assert.Equal(1, items[0].GetProperty("data").GetProperty("items").GetInt32());
            Assert.Equal("plain", items[1].GetProperty("data").GetString());
            Assert.False(items[2].TryGetProperty("data", out _));
        }

        using (var staleDelete = new HttpRequestMessage(HttpMethod.Delete, $"/v1.0/state/{Store}/{key}"))
        {
            staleDelete.Headers.TryAddWithoutValidation("If-Match", Guid.NewGuid().ToString());
            using var answer = await http.SendAsync(staleDelete, Cancel);
            Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
            Assert.Equal("ERR_STATE_DELETE", (await answer.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
        }

        using (var transaction = await http.PostAsJsonAsync($"/v1.0/state/{Store}/transaction", new
        {
            operations = new object[]
            {
                new { operation = "upsert", request = new { key, value = new { owner = "alice", items = 5 }, etag } },
                new { operation = "delete", request = new { key = other } },
            },
        }, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, transaction.StatusCode);
        }

        Assert.Equal(new Cart("alice", 5), await Client.GetStateAsync<Cart>(Store, key, cancellationToken: Cancel));
        using var gone = await http.GetAsync($"/v1.0/state/{Store}/{other}", Cancel);
        Assert.Equal(HttpStatusCode.NoContent, gone.StatusCode);

        using var unknown = await http.GetAsync($"/v1.0/state/nostore/{key}", Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", (await unknown.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
    }

    [Fact]
    public async Task Over_http_save_bulk_and_transaction_also_answer_put_as_daprd_routes_them()
    {
        var (key, other) = (NewKey(), NewKey());
        using var http = dapr.CreateHttpClient();

        using (var saved = await http.PutAsJsonAsync($"/v1.0/state/{Store}", new object[] { new { key, value = new { owner = "alice", items = 1 } } }, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, saved.StatusCode);
        }

        using (var transaction = await http.PutAsJsonAsync($"/v1.0/state/{Store}/transaction", new
        {
            operations = new object[] { new { operation = "upsert", request = new { key = other, value = new { owner = "bob", items = 2 } } } },
        }, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, transaction.StatusCode);
        }

        using var bulk = await http.PutAsJsonAsync($"/v1.0/state/{Store}/bulk", new { keys = new[] { key, other } }, Cancel);
        Assert.Equal(HttpStatusCode.OK, bulk.StatusCode);
        var items = await bulk.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal([1, 2], items.EnumerateArray().Select(i => i.GetProperty("data").GetProperty("items").GetInt32()));
    }

    [Fact]
    public async Task With_a_Dapr_API_token_the_state_API_refuses_calls_without_it()
    {
        var locked = await dapr.Host.Runtime.AddSidecarAsync(new AppDescriptor("locked-shop", 0, AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort())
        {
            DaprApiToken = "the-token",
        }, Cancel);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{locked.App.HttpPort}") };
        using var anonymous = locked.CreateDaprClient();

        using var answer = await http.GetAsync($"/v1.0/state/{Store}/any", Cancel);
        var refused = await Assert.ThrowsAsync<DaprException>(() => anonymous.GetStateAsync<Cart>(Store, "any", cancellationToken: Cancel));

        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, Assert.IsType<RpcException>(refused.InnerException).StatusCode);
    }

    private static async Task AssertDaprErrorAsync(HttpResponseMessage response, HttpStatusCode status, string errorCode, string message)
    {
        var error = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal((status, errorCode, message), (response.StatusCode, error.GetProperty("errorCode").GetString(), error.GetProperty("message").GetString()));
    }

    private sealed record Cart(string Owner, int Items);
}
