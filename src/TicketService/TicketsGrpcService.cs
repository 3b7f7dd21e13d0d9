using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using TicketSaga.ServiceDefaults;
using TicketSaga.Ticket.V1;
using TicketSaga.TicketService.Reservations;
using TicketSaga.TicketService.TicketTypes;
using Availability = TicketSaga.Ticket.V1.Availability;
using ProtoReleaseReason = TicketSaga.Ticket.V1.ReleaseReason;

namespace TicketSaga.TicketService;

/// <summary>The gRPC surface: validates input, then hands over to the catalog, the batchers and the ledger.</summary>
internal sealed class TicketsGrpcService(TicketTypeCatalog catalog, EventCatalog events, ReserveQuotaBatcher reserves, ReleaseBatcher releases, FinalizeBatcher finalizes, ReservationLedger ledger)
    : Tickets.TicketsBase
{
    /// <summary>No single request holds more than this, whatever max_per_user says.</summary>
    public const int MaxQtyPerRequest = 100;

    /// <summary>Stripe's largest amount (8 digits); a hold of <see cref="MaxQtyPerRequest"/> at this price still fits a long.</summary>
    private const long MaxUnitPriceMinor = 99_999_999;

    private const int MaxTextLength = 200;

    public override async Task<TicketType> CreateTicketType(CreateTicketTypeRequest request, ServerCallContext context)
    {
        var ticketId = request.TicketId.Length == 0 ? Guid.CreateVersion7() : ParseId(request.TicketId, "ticket_id");
        var eventId = ParseId(request.EventId, "event_id");
        var name = RequireText(request.Name, "name");
        Require(request.Capacity > 0, "capacity must be greater than 0.");
        Require(request.UnitPrice is not null, "unit_price is required.");
        Require(request.UnitPrice!.AmountMinor is >= 0 and <= MaxUnitPriceMinor, $"unit_price.amount_minor must be between 0 and {MaxUnitPriceMinor}.");
        var currency = request.UnitPrice.Currency.ToUpperInvariant();
        Require(currency.Length == 3 && currency.All(char.IsAsciiLetterUpper), "unit_price.currency must be a 3-letter ISO 4217 code.");
        Require(request.MaxPerUser > 0, "max_per_user must be greater than 0.");
        var startsAt = ParseTime(request.SaleStartsAt, "sale_starts_at");
        var endsAt = ParseTime(request.SaleEndsAt, "sale_ends_at");
        Require(endsAt > startsAt, "sale_ends_at must be after sale_starts_at.");
        Guid? seatPlanId = request.SeatPlanId.Length == 0 ? null : ParseId(request.SeatPlanId, "seat_plan_id");
        Require(seatPlanId.HasValue == (request.Section.Length > 0), "seat_plan_id and section go together: both for a seated type, neither for general admission.");
        Require(request.Section.Length <= MaxTextLength, $"section must be at most {MaxTextLength} characters.");

        var created = await catalog.CreateAsync(
            new TicketTypeDefinition(ticketId, eventId, name, request.Capacity, request.UnitPrice.AmountMinor, currency,
                request.MaxPerUser, startsAt, endsAt, seatPlanId, request.Section),
            context.CancellationToken);
        return await WithAvailabilityAsync([created], context.CancellationToken).SingleAsync();
    }

    public override async Task<TicketType> GetTicketType(GetTicketTypeRequest request, ServerCallContext context)
    {
        var ticket = await catalog.GetAsync(ParseId(request.TicketId, "ticket_id"), context.CancellationToken);
        return await WithAvailabilityAsync([ticket], context.CancellationToken).SingleAsync();
    }

    public override async Task<ListTicketTypesResponse> ListTicketTypes(ListTicketTypesRequest request, ServerCallContext context)
    {
        Guid? eventId = request.EventId.Length == 0 ? null : ParseId(request.EventId, "event_id");
        var tickets = await catalog.ListAsync(eventId, context.CancellationToken);
        var response = new ListTicketTypesResponse();
        response.TicketTypes.AddRange(await WithAvailabilityAsync(tickets, context.CancellationToken).ToListAsync());
        return response;
    }

    public override async Task<EventDetails> DescribeEvent(DescribeEventRequest request, ServerCallContext context)
    {
        Require(request.Event is not null, "event is required.");
        var described = await events.DescribeAsync(
            new EventDescription(ParseId(request.Event!.EventId, "event.event_id"), RequireText(request.Event.Name, "event.name"),
                RequireText(request.Event.Venue, "event.venue"), ParseTime(request.Event.StartsAt, "event.starts_at")),
            context.CancellationToken);
        return ToProto(described);
    }

    public override async Task<ListEventsResponse> ListEvents(ListEventsRequest request, ServerCallContext context)
    {
        Guid? eventId = request.EventId.Length == 0 ? null : ParseId(request.EventId, "event_id");
        var response = new ListEventsResponse();
        response.Events.AddRange((await events.ListAsync(eventId, context.CancellationToken)).Select(ToProto));
        return response;
    }

    public override async Task<ReserveQuotaResponse> ReserveQuota(ReserveQuotaRequest request, ServerCallContext context)
    {
        var ticketId = ParseId(request.TicketId, "ticket_id");
        var reservationId = ParseId(request.ReservationId, "reservation_id");
        var userId = RequireText(request.UserId, "user_id");
        Require(request.Qty is > 0 and <= MaxQtyPerRequest, $"qty must be between 1 and {MaxQtyPerRequest}.");
        var expiresAt = ParseTime(request.ExpiresAt, "expires_at");
        var ticket = await catalog.GetAsync(ticketId, context.CancellationToken);
        Require(request.Qty <= ticket.MaxPerUser, $"qty {request.Qty} is more than max_per_user {ticket.MaxPerUser} of this ticket type.");

        var hold = await reserves.ReserveAsync(
            new ReserveQuotaCommand(ticketId, reservationId, userId, request.Qty, expiresAt), context.CancellationToken);
        return new ReserveQuotaResponse
        {
            Success = true,
            Remaining = hold.Remaining,
            UnitPrice = new Money { AmountMinor = hold.UnitPriceMinor, Currency = hold.Currency },
            MaxPerUser = ticket.MaxPerUser,
            SeatPlanId = ticket.SeatPlanId?.ToString() ?? "",
            Section = ticket.Section,
            ExpiresAt = Timestamp.FromDateTimeOffset(hold.ExpiresAt),
        };
    }

    public override async Task<FinalizeReservationResponse> FinalizeReservation(FinalizeReservationRequest request, ServerCallContext context)
    {
        var finalized = await finalizes.FinalizeAsync(
            new FinalizeCommand(ParseId(request.ReservationId, "reservation_id"), ParseId(request.OrderId, "order_id")), context.CancellationToken);
        return new FinalizeReservationResponse
        {
            ReservationId = finalized.ReservationId.ToString(),
            OrderId = finalized.OrderId.ToString(),
            Qty = finalized.Qty,
        };
    }

    public override async Task<ReleaseReservationResponse> ReleaseReservation(ReleaseReservationRequest request, ServerCallContext context)
    {
        var reservationId = ParseId(request.ReservationId, "reservation_id");
        Require(request.Reason != ProtoReleaseReason.Unspecified && System.Enum.IsDefined(request.Reason), "reason is required.");
        Guid? soldTo = request.OrderId.Length == 0 ? null : ParseId(request.OrderId, "order_id");
        var released = await releases.ReleaseAsync(new ReleaseCommand(reservationId, (Reservations.ReleaseReason)request.Reason, soldTo), context.CancellationToken);
        return new ReleaseReservationResponse
        {
            ReservationId = released.ReservationId.ToString(),
            Qty = released.Qty,
            Reason = (ProtoReleaseReason)released.Reason,
        };
    }

    public override async Task<ReturnSoldReservationResponse> ReturnSoldReservation(ReturnSoldReservationRequest request, ServerCallContext context)
    {
        var returned = await ledger.ReturnSoldAsync(
            ParseId(request.ReservationId, "reservation_id"), ParseId(request.OrderId, "order_id"), context.CancellationToken);
        return new ReturnSoldReservationResponse
        {
            ReservationId = returned.ReservationId.ToString(),
            OrderId = returned.OrderId.ToString(),
            Qty = returned.Qty,
        };
    }

    private async IAsyncEnumerable<TicketType> WithAvailabilityAsync(
        IReadOnlyList<TicketTypeDefinition> tickets, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var availability = await catalog.GetAvailabilityAsync(tickets.Select(t => t.TicketId).ToList(), cancellationToken);
        foreach (var ticket in tickets)
        {
            var quota = availability[ticket.TicketId];
            yield return new TicketType
            {
                TicketId = ticket.TicketId.ToString(),
                EventId = ticket.EventId.ToString(),
                Name = ticket.Name,
                UnitPrice = new Money { AmountMinor = ticket.PriceMinor, Currency = ticket.Currency },
                MaxPerUser = ticket.MaxPerUser,
                SaleStartsAt = Timestamp.FromDateTimeOffset(ticket.SaleStartsAt),
                SaleEndsAt = Timestamp.FromDateTimeOffset(ticket.SaleEndsAt),
                SeatPlanId = ticket.SeatPlanId?.ToString() ?? "",
                Section = ticket.Section,
                Availability = new Availability
                {
                    Capacity = quota.Capacity,
                    Available = quota.Available,
                    Held = quota.Held,
                    Sold = quota.Sold,
                },
            };
        }
    }

    private static EventDetails ToProto(EventDescription description) => new()
    {
        EventId = description.EventId.ToString(),
        Name = description.Name,
        Venue = description.Venue,
        StartsAt = Timestamp.FromDateTimeOffset(description.StartsAt),
    };

    private static Guid ParseId(string value, string field)
    {
        Require(value.Length > 0, $"{field} is required.");
        Require(Guid.TryParse(value, out var id), $"{field} must be a UUID.");
        return id;
    }

    private static string RequireText(string value, string field)
    {
        Require(!string.IsNullOrWhiteSpace(value), $"{field} is required.");
        Require(value.Length <= MaxTextLength, $"{field} must be at most {MaxTextLength} characters.");
        return value;
    }

    /// <summary>PostgreSQL keeps microseconds: truncating here makes a retry compare equal to what was stored.</summary>
    private static DateTimeOffset ParseTime(Timestamp? value, string field)
    {
        Require(value is not null, $"{field} is required.");
        Require(value!.Seconds is >= -62135596800 and <= 253402300799 && value.Nanos is >= 0 and < 1_000_000_000, $"{field} is not a valid time.");
        return PostgresTime.TruncateToMicroseconds(value.ToDateTimeOffset());
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, message));
        }
    }
}
