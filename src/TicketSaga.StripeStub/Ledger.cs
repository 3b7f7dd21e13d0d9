using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TicketSaga.StripeStub;

/// <summary>What a test can see of a PaymentIntent without going through the API.</summary>
public sealed record PaymentIntentSnapshot(
    string Id, string Status, long Amount, string Currency, long AmountReceived, long AmountRefunded,
    string? PaymentMethod, IReadOnlyDictionary<string, string> Metadata);

public sealed record RefundSnapshot(string Id, string PaymentIntent, long Amount, string Currency);

/// <summary>
/// The stub's whole state: PaymentIntents, their single charge, refunds. One lock guards it; every
/// change is written to the journal (kept across restarts when it has a file) before the events it
/// raises are handed to the event log and before the request is answered.
/// </summary>
public sealed class Ledger
{
    private static readonly string[] CancelableStatuses = ["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing"];
    private static readonly string[] ConfirmableStatuses = ["requires_payment_method", "requires_confirmation", "requires_action"];
    private static readonly JsonSerializerOptions JournalJson = new(JsonSerializerDefaults.Web);

    private readonly Lock _gate = new();
    private readonly EventLog _events;
    private readonly StubJournal _journal;
    private readonly Dictionary<string, Intent> _intents;
    private readonly List<RefundSnapshot> _refunds;
    private readonly List<(string Type, JsonObject Data)> _raised = [];

    public Ledger(EventLog events, StubJournal journal)
    {
        _events = events;
        _journal = journal;
        _intents = IntentsIn(journal.Records);
        _refunds = [.. journal.Records.Where(r => r["refund"] is not null).Select(r => r["refund"].Deserialize<RefundSnapshot>(JournalJson)!)];
    }

    public IReadOnlyList<PaymentIntentSnapshot> PaymentIntents
    {
        get
        {
            lock (_gate)
            {
                return [.. _intents.Values.Select(i => i.Snapshot())];
            }
        }
    }

    public IReadOnlyList<RefundSnapshot> Refunds
    {
        get
        {
            lock (_gate)
            {
                return [.. _refunds];
            }
        }
    }

    public StubResult Create(long amount, string currency, string? paymentMethod, bool confirm, string? returnUrl, string? description, Dictionary<string, string> metadata)
    {
        if (paymentMethod is not null && TestPaymentMethods.Find(paymentMethod) is null)
        {
            // Like Stripe, an unknown payment method fails the request before any PaymentIntent exists.
            return StripeErrors.NoSuch("PaymentMethod", paymentMethod, "payment_method");
        }

        lock (_gate)
        {
            var id = NewId("pi");
            var intent = new Intent
            {
                Id = id,
                ClientSecret = $"{id}_secret_{RandomToken(12)}",
                Amount = amount,
                Currency = currency,
                Created = Now(),
                Description = description,
                Metadata = metadata,
                PaymentMethod = paymentMethod,
                Status = paymentMethod is null ? "requires_payment_method" : "requires_confirmation",
            };
            _intents[id] = intent;
            Raise("payment_intent.created", intent.ToJson());
            var created = confirm ? ConfirmLocked(intent, paymentMethod, returnUrl) : StubResult.Ok(intent.ToJson());
            Commit(intent);
            return created;
        }
    }

    public StubResult Retrieve(string id)
    {
        lock (_gate)
        {
            return _intents.TryGetValue(id, out var intent) ? StubResult.Ok(intent.ToJson()) : StripeErrors.NoSuch("payment_intent", id);
        }
    }

    public StubResult Confirm(string id, string? paymentMethod, string? returnUrl)
    {
        lock (_gate)
        {
            if (!_intents.TryGetValue(id, out var intent))
            {
                return StripeErrors.NoSuch("payment_intent", id, "intent");
            }

            var confirmed = ConfirmableStatuses.Contains(intent.Status)
                ? ConfirmLocked(intent, paymentMethod ?? intent.PaymentMethod, returnUrl)
                : StripeErrors.UnexpectedState("confirm", intent.Status, ConfirmableStatuses);
            Commit(intent);
            return confirmed;
        }
    }

    public StubResult Cancel(string id, string? reason)
    {
        lock (_gate)
        {
            if (!_intents.TryGetValue(id, out var intent))
            {
                return StripeErrors.NoSuch("payment_intent", id, "intent");
            }

            if (!CancelableStatuses.Contains(intent.Status))
            {
                return StripeErrors.UnexpectedState("cancel", intent.Status, CancelableStatuses);
            }

            intent.Status = "canceled";
            intent.CancellationReason = reason;
            intent.CanceledAt = Now();
            intent.NextAction = null;
            Raise("payment_intent.canceled", intent.ToJson());
            Commit(intent);
            return StubResult.Ok(intent.ToJson());
        }
    }

    /// <summary>The customer finishes (or fails) 3D Secure: what Stripe's hosted page or stripe.js would do.</summary>
    public StubResult CompleteAuthentication(string id, bool succeed)
    {
        lock (_gate)
        {
            if (!_intents.TryGetValue(id, out var intent))
            {
                return StripeErrors.NoSuch("payment_intent", id, "intent");
            }

            if (intent.Status != "requires_action")
            {
                return StripeErrors.UnexpectedState("authenticate", intent.Status, ["requires_action"]);
            }

            intent.NextAction = null;
            if (succeed)
            {
                Capture(intent);
            }
            else
            {
                Fail(intent, StripeErrors.ErrorObject("card_error", "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
                    "payment_intent_authentication_failure", null));
            }

            Commit(intent);
            return StubResult.Ok(intent.ToJson());
        }
    }

    public StubResult Refund(string paymentIntentId, long? amount, string? reason, Dictionary<string, string> metadata)
    {
        lock (_gate)
        {
            if (!_intents.TryGetValue(paymentIntentId, out var intent))
            {
                return StripeErrors.NoSuch("payment_intent", paymentIntentId, "payment_intent");
            }

            if (intent.Status != "succeeded")
            {
                return StripeErrors.InvalidRequest(
                    $"This PaymentIntent ({intent.Id}) does not have a successful charge to refund.", "payment_intent", "charge_not_refundable");
            }

            var refundable = intent.AmountReceived - intent.AmountRefunded;
            if (refundable == 0)
            {
                return StripeErrors.InvalidRequest($"Charge {intent.LatestCharge} has already been refunded.", code: "charge_already_refunded");
            }

            var refunded = amount ?? refundable;
            if (refunded <= 0 || refunded > refundable)
            {
                return StripeErrors.InvalidRequest(
                    $"Refund amount ({refunded}) is greater than unrefunded amount on charge ({refundable})", "amount", "amount_too_large");
            }

            intent.AmountRefunded += refunded;
            var refund = new RefundSnapshot(NewId("re"), intent.Id, refunded, intent.Currency);
            _refunds.Add(refund);
            _journal.Append("refund", JsonSerializer.SerializeToNode(refund, JournalJson)!);
            var refundJson = new JsonObject
            {
                ["id"] = refund.Id,
                ["object"] = "refund",
                ["amount"] = refund.Amount,
                ["charge"] = intent.LatestCharge,
                ["created"] = Now(),
                ["currency"] = refund.Currency,
                ["metadata"] = Metadata(metadata),
                ["payment_intent"] = intent.Id,
                ["reason"] = reason,
                ["status"] = "succeeded",
            };
            intent.Refunds.Add(refundJson);
            Raise("refund.created", (JsonObject)refundJson.DeepClone());
            Raise("charge.refunded", intent.ChargeJson());
            Commit(intent);
            return StubResult.Ok((JsonObject)refundJson.DeepClone());
        }
    }

    private StubResult ConfirmLocked(Intent intent, string? paymentMethod, string? returnUrl)
    {
        if (paymentMethod is null)
        {
            return StripeErrors.InvalidRequest(
                "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with cus, specify a payment method attached to this customer along with the customer ID.",
                "payment_method", "payment_intent_unexpected_state");
        }

        if (TestPaymentMethods.Find(paymentMethod) is not { } card)
        {
            return StripeErrors.NoSuch("PaymentMethod", paymentMethod, "payment_method");
        }

        intent.PaymentMethod = paymentMethod;
        intent.NextAction = null;
        intent.LastPaymentError = null;
        switch (card.Behaviour)
        {
            case CardBehaviour.Succeeds:
                Capture(intent);
                return StubResult.Ok(intent.ToJson());
            case CardBehaviour.RequiresAuthentication:
                intent.Status = "requires_action";
                intent.NextAction = returnUrl is null
                    ? new JsonObject { ["type"] = "use_stripe_sdk", ["use_stripe_sdk"] = new JsonObject { ["type"] = "three_d_secure_redirect", ["stripe_js"] = $"https://hooks.stripe.com/3d_secure_2/hosted?payment_intent={intent.Id}" } }
                    : new JsonObject
                    {
                        ["type"] = "redirect_to_url",
                        ["redirect_to_url"] = new JsonObject { ["url"] = $"https://hooks.stripe.com/3d_secure_2/hosted?payment_intent={intent.Id}", ["return_url"] = returnUrl },
                    };
                Raise("payment_intent.requires_action", intent.ToJson());
                return StubResult.Ok(intent.ToJson());
            default:
                var error = StripeErrors.ErrorObject("card_error", card.Message!, card.Code, null, card.DeclineCode);
                error["charge"] = NewId("ch");
                Fail(intent, error);
                error["payment_intent"] = intent.ToJson();
                error["payment_method"] = new JsonObject { ["id"] = paymentMethod, ["object"] = "payment_method", ["type"] = "card", ["created"] = Now(), ["livemode"] = false };
                return new StubResult(402, new JsonObject { ["error"] = error });
        }
    }

    private void Capture(Intent intent)
    {
        intent.Status = "succeeded";
        intent.AmountReceived = intent.Amount;
        intent.LatestCharge = NewId("ch");
        Raise("payment_intent.succeeded", intent.ToJson());
    }

    private void Fail(Intent intent, JsonObject error)
    {
        intent.Status = "requires_payment_method";
        intent.LastPaymentError = error;
        Raise("payment_intent.payment_failed", intent.ToJson());
    }

    /// <summary>The intent's new state is on disk before anyone hears of it: events go out only after.</summary>
    private void Commit(Intent intent)
    {
        _journal.Append("intent", intent.JournalJson());
        foreach (var (type, data) in _raised)
        {
            _events.Raise(type, data);
        }

        _raised.Clear();
    }

    private void Raise(string type, JsonObject data) => _raised.Add((type, data));

    internal static Dictionary<string, Intent> IntentsIn(IEnumerable<JsonObject> records)
    {
        var intents = new Dictionary<string, Intent>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record["intent"] is JsonObject saved)
            {
                var intent = Intent.FromJournal(saved);
                intents[intent.Id] = intent;
            }
        }

        return intents;
    }

    internal static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    internal static string NewId(string prefix) => $"{prefix}_{RandomToken(24)}";

    private static string RandomToken(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return RandomNumberGenerator.GetString(alphabet, length);
    }

    private static JsonObject Metadata(Dictionary<string, string> metadata) =>
        new(metadata.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)JsonValue.Create(pair.Value))));

    internal sealed class Intent
    {
        public required string Id { get; init; }

        public required string ClientSecret { get; init; }

        public required long Amount { get; init; }

        public required string Currency { get; init; }

        public required long Created { get; init; }

        public required Dictionary<string, string> Metadata { get; init; }

        public string? Description { get; init; }

        public string Status { get; set; } = "requires_payment_method";

        public string? PaymentMethod { get; set; }

        public string? LatestCharge { get; set; }

        public long AmountReceived { get; set; }

        public long AmountRefunded { get; set; }

        public string? CancellationReason { get; set; }

        public long? CanceledAt { get; set; }

        public JsonObject? LastPaymentError { get; set; }

        public JsonObject? NextAction { get; set; }

        public List<JsonObject> Refunds { get; } = [];

        /// <summary>The API shape plus what it leaves out (the refunds and their sum).</summary>
        public JsonObject JournalJson()
        {
            var json = ToJson();
            json["amount_refunded"] = AmountRefunded;
            json["refunds"] = new JsonArray([.. Refunds.Select(r => r.DeepClone())]);
            return json;
        }

        public static Intent FromJournal(JsonObject json)
        {
            var intent = new Intent
            {
                Id = json["id"]!.GetValue<string>(),
                ClientSecret = json["client_secret"]!.GetValue<string>(),
                Amount = json["amount"]!.GetValue<long>(),
                Currency = json["currency"]!.GetValue<string>(),
                Created = json["created"]!.GetValue<long>(),
                Description = json["description"]?.GetValue<string>(),
                Metadata = json["metadata"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal),
                Status = json["status"]!.GetValue<string>(),
                PaymentMethod = json["payment_method"]?.GetValue<string>(),
                LatestCharge = json["latest_charge"]?.GetValue<string>(),
                AmountReceived = json["amount_received"]!.GetValue<long>(),
                AmountRefunded = json["amount_refunded"]!.GetValue<long>(),
                CancellationReason = json["cancellation_reason"]?.GetValue<string>(),
                CanceledAt = json["canceled_at"]?.GetValue<long>(),
                LastPaymentError = json["last_payment_error"]?.DeepClone().AsObject(),
                NextAction = json["next_action"]?.DeepClone().AsObject(),
            };
            intent.Refunds.AddRange(json["refunds"]!.AsArray().Select(r => r!.DeepClone().AsObject()));
            return intent;
        }

        public PaymentIntentSnapshot Snapshot() =>
            new(Id, Status, Amount, Currency, AmountReceived, AmountRefunded, PaymentMethod, new Dictionary<string, string>(Metadata));

        /// <summary>The API shape; numbers are always numbers (Stripe.net rejects null for them), absent when unknown.</summary>
        public JsonObject ToJson()
        {
            var json = new JsonObject
            {
                ["id"] = Id,
                ["object"] = "payment_intent",
                ["amount"] = Amount,
                ["amount_capturable"] = 0,
                ["amount_received"] = AmountReceived,
                ["automatic_payment_methods"] = new JsonObject { ["enabled"] = true },
                ["cancellation_reason"] = CancellationReason,
                ["capture_method"] = "automatic",
                ["client_secret"] = ClientSecret,
                ["confirmation_method"] = "automatic",
                ["created"] = Created,
                ["currency"] = Currency,
                ["description"] = Description,
                ["last_payment_error"] = LastPaymentError?.DeepClone(),
                ["latest_charge"] = LatestCharge,
                ["livemode"] = false,
                ["metadata"] = Ledger.Metadata(Metadata),
                ["next_action"] = NextAction?.DeepClone(),
                ["payment_method"] = PaymentMethod,
                ["payment_method_types"] = new JsonArray("card"),
                ["status"] = Status,
            };
            if (CanceledAt is { } canceledAt)
            {
                json["canceled_at"] = canceledAt;
            }

            return json;
        }

        public JsonObject ChargeJson() => new()
        {
            ["id"] = LatestCharge,
            ["object"] = "charge",
            ["amount"] = Amount,
            ["amount_captured"] = AmountReceived,
            ["amount_refunded"] = AmountRefunded,
            ["captured"] = true,
            ["created"] = Created,
            ["currency"] = Currency,
            ["livemode"] = false,
            ["metadata"] = Ledger.Metadata(Metadata),
            ["paid"] = true,
            ["payment_intent"] = Id,
            ["payment_method"] = PaymentMethod,
            ["refunded"] = AmountRefunded == AmountReceived,
            ["refunds"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray([.. Refunds.Select(r => r.DeepClone())]),
                ["has_more"] = false,
                ["url"] = $"/v1/charges/{LatestCharge}/refunds",
            },
            ["status"] = "succeeded",
        };
    }
}
