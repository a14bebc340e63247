namespace Linda;

/// <summary>
/// When a queue saves a snapshot: once <c>snapshot-every</c> events (counted one by one, inside their
/// batches) were applied since the last one, or, when the last snapshot held more jobs than that, once
/// as many events as it held jobs, so the cost of snapshots stays proportional to the work done. One
/// snapshot at a time.
/// </summary>
internal sealed class SnapshotPolicy(int every)
{
    private long _eventsSince;
    private long _jobsAtLast;

    /// <summary>A snapshot was taken and is being saved.</summary>
    public bool Saving { get; private set; }

    /// <summary>True when the next snapshot is due (and none is being saved).</summary>
    public bool Due => every > 0 && !Saving && _eventsSince >= Math.Max(every, _jobsAtLast);

    /// <summary>Recovery started from a snapshot of <paramref name="jobs"/> jobs.</summary>
    public void Offered(int jobs) => _jobsAtLast = jobs;

    /// <summary><paramref name="events"/> more events were applied.</summary>
    public void Applied(int events = 1) => _eventsSince += events;

    /// <summary>A snapshot of <paramref name="jobs"/> jobs was taken; it is saved next.</summary>
    public void Taken(int jobs)
    {
        Saving = true;
        _eventsSince = 0;
        _jobsAtLast = jobs;
    }

    /// <summary>The snapshot store answered (saved or failed): the next one may be taken.</summary>
    public void Done() => Saving = false;
}
