namespace TicketSaga.Gateway.Admission;

/// <summary>
/// One read in flight at a time, and reads started at least <paramref name="spacing"/> apart: callers
/// arriving meanwhile share the next read, which starts after they arrived. Its answer is never older
/// than the caller's request, and a rush costs at most one read per spacing however many ask (each
/// read costs a trip through two sidecars to the database, whether one buyer waits for it or fifty).
/// </summary>
public sealed class CoalescedRead<T>(Func<Task<T>> read, TimeSpan spacing, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private TaskCompletionSource<T>? _next;
    private bool _running;
    private long? _lastStart;

    public Task<T> NextAsync()
    {
        lock (_gate)
        {
            _next ??= new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            var waiting = _next.Task;
            if (!_running)
            {
                _running = true;
                _ = RunAsync();
            }

            return waiting;
        }
    }

    private async Task RunAsync()
    {
        while (true)
        {
            if (_lastStart is { } last && spacing - clock.GetElapsedTime(last) is { Ticks: > 0 } wait)
            {
                await Task.Delay(wait, clock);
            }

            TaskCompletionSource<T> current;
            lock (_gate)
            {
                if (_next is null)
                {
                    _running = false;
                    return;
                }

                current = _next;
                _next = null;
            }

            _lastStart = clock.GetTimestamp();
            try
            {
                current.SetResult(await read());
            }
            catch (Exception ex)
            {
                current.SetException(ex);
            }
        }
    }
}
