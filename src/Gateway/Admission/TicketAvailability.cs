using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TicketSaga.Ticket.V1;

namespace TicketSaga.Gateway.Admission;

/// <summary>
/// What the gateway knows of a ticket type, read from ticket-service (GetTicketType): its event, and
/// whether it is sold out. A type is only suspected sold out after order-service answered 409 for it;
/// a suspected type is then read afresh for every buyer, so a released hold (expiry, cancel, refund) is
/// seen by the next buyer: no sold-out answer ever rests on a read older than the request. Reads of one
/// type are coalesced: buyers arriving while a read runs share the next one, which starts after they
/// arrived, and start at most one per Gateway:SoldOutReadSpacing, so a rush costs a bounded number of
/// reads per type (<see cref="CoalescedRead{T}"/>).
/// </summary>
internal sealed partial class TicketAvailability(Tickets.TicketsClient tickets, IOptions<GatewayOptions> options, TimeProvider clock, ILogger<TicketAvailability> logger)
{
    /// <summary>Bounds memory against made-up ticket ids: only types that exist are kept, and no more than this.</summary>
    private const int MaxTypes = 10_000;

    /// <summary>Only the first read of a type waits this long (its facts are kept); generous, because a cold ticket-service is slow.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<Guid, TicketFacts> _known = new();
    private readonly ConcurrentDictionary<Guid, CoalescedRead<TicketRead>> _reads = new();

    /// <summary>The type's facts; <see cref="TicketLookup.NotFound"/> when it does not exist, <see cref="TicketLookup.Unknown"/> when ticket-service did not answer.</summary>
    public async Task<TicketLookup> FindAsync(Guid ticketId, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue(ticketId, out var known))
        {
            return new TicketLookup.Found(known);
        }

        var read = await ReadAsync(ticketId, cancellationToken);
        if (!read.Answered)
        {
            return new TicketLookup.Unknown();
        }

        if (read.Type is null)
        {
            return new TicketLookup.NotFound();
        }

        if (_known.Count >= MaxTypes)
        {
            _known.Clear();
            _reads.Clear();
        }

        return new TicketLookup.Found(_known.GetOrAdd(ticketId, new TicketFacts(read.Type.EventId)));
    }

    /// <summary>Whether a buyer may be told "sold out" without trying: suspected, and a read made after they arrived finds nothing available.</summary>
    public async Task<bool> IsSoldOutAsync(TicketFacts facts, Guid ticketId, CancellationToken cancellationToken)
    {
        if (!facts.SuspectedSoldOut)
        {
            return false;
        }

        var read = await ReadAsync(ticketId, cancellationToken);
        if (read.Type?.Availability is not { } availability)
        {
            return false;
        }

        if (availability.Available > 0)
        {
            facts.SuspectedSoldOut = false;
            return false;
        }

        return true;
    }

    private Task<TicketRead> ReadAsync(Guid ticketId, CancellationToken cancellationToken) =>
        _reads.GetOrAdd(ticketId, id => new CoalescedRead<TicketRead>(() => GetAsync(id), options.Value.SoldOutReadSpacing, clock)).NextAsync().WaitAsync(cancellationToken);

    private async Task<TicketRead> GetAsync(Guid ticketId)
    {
        try
        {
            return new TicketRead(true, await tickets.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = ticketId.ToString() }, deadline: DateTime.UtcNow.Add(ReadTimeout)));
        }
        catch (RpcException ex)
        {
            _reads.TryRemove(ticketId, out _);
            if (ex.StatusCode == StatusCode.NotFound)
            {
                return new TicketRead(true, null);
            }

            LogAvailabilityNotRead(logger, ex.StatusCode, ticketId);
            return new TicketRead(false, null);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Availability of ticket type {TicketId} not read ({Status})")]
    private static partial void LogAvailabilityNotRead(ILogger logger, StatusCode status, Guid ticketId);
}

/// <summary>Whether ticket-service answered, and the type it answered (null: no such type).</summary>
internal sealed record TicketRead(bool Answered, TicketType? Type);

/// <summary>What the door knows of a ticket type.</summary>
internal abstract record TicketLookup
{
    private TicketLookup()
    {
    }

    public sealed record Found(TicketFacts Facts) : TicketLookup;

    /// <summary>No such type: order-service gives the answer a client expects for it.</summary>
    public sealed record NotFound : TicketLookup;

    /// <summary>Ticket-service did not answer in time: the door cannot tell the event, so it cannot queue the buyer.</summary>
    public sealed record Unknown : TicketLookup;
}

/// <summary>A ticket type as the gateway keeps it: its event (never changes) and whether it is suspected sold out.</summary>
internal sealed class TicketFacts(string eventId)
{
    private volatile bool _suspectedSoldOut;

    public string EventId { get; } = eventId;

    public bool SuspectedSoldOut
    {
        get => _suspectedSoldOut;
        set => _suspectedSoldOut = value;
    }
}
