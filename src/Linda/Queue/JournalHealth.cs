namespace Linda;

/// <summary>
/// What a queue's journal did lately: its last acknowledged write and its last failure. Shared by a
/// queue's supervisor and each queue actor it starts, so a failure is remembered across the restart it
/// causes, and the supervisor can answer <see cref="JobQueue.GetHealth"/> while no queue actor runs.
/// Public only so that a queue actor's Props can carry it; read it through <see cref="JobQueue.GetHealth"/>.
/// </summary>
public sealed class JournalHealth
{
    private readonly object _lock = new();
    private DateTimeOffset? _lastWriteAt;
    private DateTimeOffset? _lastFailureAt;
    private string? _lastFailure;
    private int _failures;

    internal void Written(DateTimeOffset at)
    {
        lock (_lock)
            _lastWriteAt = at;
    }

    internal void Failed(DateTimeOffset at, string why)
    {
        lock (_lock)
        {
            _lastFailureAt = at;
            _lastFailure = why;
            _failures++;
        }
    }

    /// <summary>The answer to <see cref="JobQueue.GetHealth"/>.</summary>
    internal JobQueue.QueueHealth Report(string queue, bool running, DateTimeOffset now, DateTimeOffset? writeInFlightSince)
    {
        lock (_lock)
            return new JobQueue.QueueHealth(queue, running, now, writeInFlightSince, _lastWriteAt, _lastFailureAt, _lastFailure, _failures);
    }
}
