using static Linda.JobQueue;

namespace Linda;

// Unique jobs: a key taken while its job is in the queue, and for a while after it ended.
public sealed partial class JobQueueState
{
    // Every key taken: by a job in the queue (Until null), or by one that ended (until then).
    private readonly Dictionary<string, UniqueHold> _unique = new(StringComparer.Ordinal);
    // The keys of ended jobs, by when they are free again: dropped as time passes (what time alone decides).
    private readonly SortedSet<UniqueHold> _uniqueExpiry = new(UniqueHold.UntilOrder.Instance);

    /// <summary>Keys taken now: by jobs in the queue, and by jobs that ended less than their <see cref="Job.UniqueFor"/> ago.</summary>
    public int UniqueKeyCount => _unique.Count;

    /// <summary>The job that holds <paramref name="key"/> now (in the queue, or ended less than its hold ago), or null.</summary>
    public string? UniqueHolder(string key) => _unique.TryGetValue(key, out var hold) && (hold.Until is null || hold.Until > Now) ? hold.JobId : null;

    private Rejected? CheckUnique(Push cmd)
    {
        if (cmd.UniqueKey is null)
            return cmd.UniqueFor is null ? null : new Rejected(RejectReason.InvalidUnique, "UniqueFor needs a UniqueKey");
        if (cmd.UniqueKey.Length is 0 or > Names.MaxLength || cmd.UniqueKey.Any(char.IsControl))
            return new Rejected(RejectReason.InvalidUnique, $"a unique key must be 1 to {Names.MaxLength} printable characters");
        if (cmd.UniqueFor is { } hold && (hold < TimeSpan.Zero || hold > Limits.MaxDelay))
            return new Rejected(RejectReason.InvalidUnique, $"UniqueFor {hold} is outside [0, {Limits.MaxDelay}]");
        return null;
    }

    /// <summary>A unique job is in the queue: its key is taken (over the hold of an ended job that had it).</summary>
    private void TakeUniqueKey(Entry e)
    {
        if (e.Job.UniqueKey is not { } key)
            return;
        if (_unique.Remove(key, out var old) && old.Until is not null)
            _uniqueExpiry.Remove(old);
        _unique.Add(key, new UniqueHold(key, e.Job.Id, null));
    }

    /// <summary>A unique job left the queue: its key is free now, or after its hold.</summary>
    private void ReleaseUniqueKey(Entry e)
    {
        if (e.Job.UniqueKey is not { } key || !_unique.TryGetValue(key, out var hold) || hold.JobId != e.Job.Id || hold.Until is not null)
            return;
        _unique.Remove(key);
        if (e.Job.UniqueFor is { } holdFor && holdFor > TimeSpan.Zero)
        {
            var ended = new UniqueHold(key, e.Job.Id, Now + holdFor);
            _unique.Add(key, ended);
            _uniqueExpiry.Add(ended);
        }
    }

    /// <summary>Drops the holds of ended jobs that are over by <paramref name="now"/>.</summary>
    private void DropExpiredUniqueKeys(DateTimeOffset now)
    {
        while (_uniqueExpiry.Count > 0 && _uniqueExpiry.Min!.Until <= now)
        {
            var over = _uniqueExpiry.Min;
            _uniqueExpiry.Remove(over);
            _unique.Remove(over.Key);
        }
    }

    private void RestoreUniqueHolds(IReadOnlyList<UniqueHoldSnapshot> holds)
    {
        foreach (var h in holds)
        {
            var hold = new UniqueHold(h.Key, h.JobId, h.Until);
            if (!_unique.TryAdd(h.Key, hold))
                throw new InvalidOperationException($"snapshot holds unique key '{h.Key}' twice");
            _uniqueExpiry.Add(hold);
        }
    }

    /// <summary>A key and the job that took it; <see cref="Until"/> is set once the job has ended.</summary>
    internal sealed record UniqueHold(string Key, string JobId, DateTimeOffset? Until)
    {
        internal sealed class UntilOrder : IComparer<UniqueHold>
        {
            public static readonly UntilOrder Instance = new();

            public int Compare(UniqueHold? x, UniqueHold? y)
            {
                var c = Nullable.Compare(x!.Until, y!.Until);
                return c != 0 ? c : string.CompareOrdinal(x.Key, y.Key);
            }
        }
    }
}
