using System.Diagnostics;
using static Linda.JobQueue;

namespace Linda.Telemetry;

/// <summary>
/// One queue actor's part of <see cref="LindaTelemetry"/>: its attributes, the counts its gauges
/// report (published by the actor after each message, read by whichever thread collects), and what
/// it counts as events are applied and written. Counting starts once the queue has recovered:
/// replayed events are not counted again.
/// </summary>
internal sealed class QueueTelemetry : IDisposable
{
    private readonly TimeProvider _time;
    private int _ready;
    private int _delayed;
    private int _reserved;
    private int _buried;
    private long _oldestReadyTicks;
    private long _leaseTimeouts;
    private long _buries;
    private bool _live;
    private long _failures;

    public QueueTelemetry(string queue, TimeProvider time)
    {
        _time = time;
        var system = new KeyValuePair<string, object?>(LindaTelemetry.Attributes.MessagingSystem, LindaTelemetry.System);
        var destination = new KeyValuePair<string, object?>(LindaTelemetry.Attributes.Destination, queue);
        Tags = [system, destination];
        StateTags = new[] { "ready", "delayed", "reserved", "buried" }
            .Select(s => new[] { system, destination, new KeyValuePair<string, object?>(LindaTelemetry.Attributes.JobState, s) })
            .ToArray();
        LindaTelemetry.Register(this);
    }

    /// <summary><c>messaging.system</c> and <c>messaging.destination.name</c>.</summary>
    public KeyValuePair<string, object?>[] Tags { get; }

    /// <summary><see cref="Tags"/> with <c>linda.job.state</c>: ready, delayed, reserved, buried.</summary>
    public KeyValuePair<string, object?>[][] StateTags { get; }

    /// <summary>The counts last published (each read on its own: a collection may see two moments).</summary>
    public (int Ready, int Delayed, int Reserved, int Buried) Counts =>
        (Volatile.Read(ref _ready), Volatile.Read(ref _delayed), Volatile.Read(ref _reserved), Volatile.Read(ref _buried));

    /// <summary>How long the oldest ready job has been ready, by the queue's clock.</summary>
    public TimeSpan Lag()
    {
        var since = Volatile.Read(ref _oldestReadyTicks);
        if (since == 0)
            return TimeSpan.Zero;
        var lag = _time.GetUtcNow().UtcTicks - since;
        return lag > 0 ? TimeSpan.FromTicks(lag) : TimeSpan.Zero;
    }

    /// <summary>Failed attempts counted since recovery (what <c>linda.job.failures</c> adds up here).</summary>
    public long Failures => _failures;

    /// <summary>Recovery is over: from now on changes are counted (from the recovered state's totals).</summary>
    public void Recovered(JobQueueState state)
    {
        _leaseTimeouts = state.LeaseTimeouts;
        _buries = state.TotalBuries;
        _live = true;
        Publish(state);
    }

    /// <summary>After each message: the gauges' counts, and the expiries and buries the state counted meanwhile.</summary>
    public void Publish(JobQueueState state)
    {
        Volatile.Write(ref _ready, state.ReadyCount);
        Volatile.Write(ref _delayed, state.DelayedCount);
        Volatile.Write(ref _reserved, state.ReservedCount);
        Volatile.Write(ref _buried, state.BuriedCount);
        Volatile.Write(ref _oldestReadyTicks, state.OldestReadySince?.UtcTicks ?? 0);
        if (!_live)
            return;
        if (state.LeaseTimeouts != _leaseTimeouts)
        {
            var expired = state.LeaseTimeouts - _leaseTimeouts;
            _leaseTimeouts = state.LeaseTimeouts;
            LindaTelemetry.LeaseExpiries.Add(expired, Tags);
            LindaTelemetry.Failures.Add(expired, Tags);
            _failures += expired;
        }
        if (state.TotalBuries != _buries)
        {
            LindaTelemetry.Buries.Add(state.TotalBuries - _buries, Tags);
            _buries = state.TotalBuries;
        }
    }

    /// <summary>An event applied live.</summary>
    public void Applied(IEvent evt)
    {
        switch (evt)
        {
            case JobReserved:
                LindaTelemetry.ConsumedMessages.Add(1, Tags);
                break;
            case JobReleased { Error: not null }:
                LindaTelemetry.Failures.Add(1, Tags);
                _failures++;
                break;
            case LeaseLost:
                LindaTelemetry.LeasesLost.Add(1, Tags);
                LindaTelemetry.Failures.Add(1, Tags);
                _failures++;
                break;
        }
    }

    /// <summary>A write is in the journal: <paramref name="pushes"/> pushes in it are acknowledged now.</summary>
    public void Written(long startedAt, int events, int pushes)
    {
        LindaTelemetry.WriteDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, Tags);
        LindaTelemetry.WriteEvents.Record(events, Tags);
        if (pushes > 0)
            LindaTelemetry.SentMessages.Add(pushes, Tags);
    }

    public void Dispose() => LindaTelemetry.Unregister(this);
}
