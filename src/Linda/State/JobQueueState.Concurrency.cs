namespace Linda;

// Per-key concurrency: a job with a concurrency key is handed out only while its key holds fewer
// leases than its limit. Ready jobs of a key are admitted into the ready set only up to the key's free
// slots; the others wait in the key's own ready set, in order, so jobs of other keys go ahead (no
// head-of-line blocking) and every reserve stays O(log n).
public sealed partial class JobQueueState
{
    private readonly Dictionary<string, KeySlots> _keys = new(StringComparer.Ordinal);
    private int _held;

    /// <summary>Ready jobs held back because their concurrency key is at its limit (counted in <see cref="ReadyCount"/>).</summary>
    public int HeldCount => _held;

    /// <summary>The leases a concurrency key holds now.</summary>
    public int LeasesOfKey(string key) => _keys.TryGetValue(key, out var slots) ? slots.Leased : 0;

    /// <summary>The limit of <paramref name="key"/>: its override, else the queue's; 0 for none.</summary>
    public int LimitOf(string key) =>
        Limits.ConcurrencyOverrides is { } overrides && overrides.TryGetValue(key, out var limit) ? limit : Limits.MaxConcurrentPerKey;

    private KeySlots? SlotsOf(Entry e) =>
        e.Job.ConcurrencyKey is { } key && LimitOf(key) > 0
            ? _keys.TryGetValue(key, out var slots) ? slots : _keys[key] = new KeySlots(key, LimitOf(key))
            : null;

    /// <summary>Puts a ready job in the ready set, or holds it in its key's while the key has no free slot. True when admitted.</summary>
    private bool AdmitOrHold(Entry e)
    {
        if (SlotsOf(e) is not { } slots)
        {
            _ready.Add(e);
            return true;
        }
        if (slots.Leased + slots.Admitted < slots.Limit)
        {
            slots.Admitted++;
            _ready.Add(e);
            return true;
        }
        e.Held = true;
        slots.Waiting.Add(e);
        _held++;
        return false;
    }

    /// <summary>A ready job leaves Ready (reserved, deleted, kicked, ...): from the ready set or its key's.</summary>
    private void LeaveReady(Entry e)
    {
        if (e.Held)
        {
            e.Held = false;
            _held--;
            var waiting = _keys[e.Job.ConcurrencyKey!];
            waiting.Waiting.Remove(e);
            Forget(waiting);
            return;
        }
        _ready.Remove(e);
        if (e.Job.ConcurrencyKey is { } key && _keys.TryGetValue(key, out var slots))
        {
            slots.Admitted--;
            AdmitWaiting(slots);
        }
    }

    /// <summary>A keyed job was leased: its key holds one more lease (counted before it leaves Ready, so its slot is not given away).</summary>
    private void KeyLeased(Entry e)
    {
        if (SlotsOf(e) is { } slots)
            slots.Leased++;
    }

    /// <summary>A keyed job's lease ended: a slot is free for the key's next waiting job.</summary>
    private void KeyReleased(Entry e)
    {
        if (e.Job.ConcurrencyKey is not { } key || !_keys.TryGetValue(key, out var slots))
            return;
        slots.Leased--;
        AdmitWaiting(slots);
    }

    private void AdmitWaiting(KeySlots slots)
    {
        while (slots.Waiting.Count > 0 && slots.Leased + slots.Admitted < slots.Limit)
        {
            var next = slots.Waiting.Min!;
            slots.Waiting.Remove(next);
            next.Held = false;
            _held--;
            slots.Admitted++;
            _ready.Add(next);
        }
        Forget(slots);
    }

    private void Forget(KeySlots slots)
    {
        if (slots.Leased == 0 && slots.Admitted == 0 && slots.Waiting.Count == 0)
            _keys.Remove(slots.Key);
    }

    /// <summary>After a restore: each key's ready jobs beyond its free slots are held back, in order.</summary>
    private void RebuildKeySlots()
    {
        // The leases were counted as the reserved jobs were restored (ApplyReserved).
        if (Limits.MaxConcurrentPerKey <= 0 && Limits.ConcurrencyOverrides is not { Count: > 0 })
            return;
        foreach (var e in _ready.Where(e => e.Job.ConcurrencyKey is not null).ToArray())
        {
            _ready.Remove(e);
            AdmitOrHold(e);
        }
    }

    private Linda.JobQueue.Rejected? CheckConcurrencyKey(JobQueue.Push cmd) =>
        cmd.ConcurrencyKey is { } key && (key.Length is 0 or > Names.MaxLength || key.Any(char.IsControl))
            ? new JobQueue.Rejected(JobQueue.RejectReason.InvalidUnique, $"a concurrency key must be 1 to {Names.MaxLength} printable characters")
            : null;

    /// <summary>One concurrency key: its limit, its leases, its admitted ready jobs and those waiting for a slot.</summary>
    private sealed class KeySlots(string key, int limit)
    {
        public readonly string Key = key;
        public readonly int Limit = limit;
        public int Leased;
        public int Admitted;
        public readonly SortedSet<Entry> Waiting = new(ReadyOrder.Instance);
    }
}
