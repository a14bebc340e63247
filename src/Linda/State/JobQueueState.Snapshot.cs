using static Linda.JobQueue;

namespace Linda;

// Snapshots: the whole state as a value, and back.
public sealed partial class JobQueueState
{
    /// <summary>A copy of the whole state, for a snapshot; the state can go on changing.</summary>
    public JobQueueSnapshot ToSnapshot() =>
        new(Queue, Now, NextSeq, _buryCounter, PausedUntil,
            _jobs.Values.OrderBy(e => e.Seq).Select(e => e.ToSnapshot()).ToArray());

    /// <summary>Restores a state from a snapshot.</summary>
    public static JobQueueState FromSnapshot(JobQueueSnapshot snapshot, QueueLimits? limits = null)
    {
        var state = new JobQueueState(snapshot.Queue, limits)
        {
            Now = snapshot.Now,
            NextSeq = snapshot.NextSeq,
            _buryCounter = snapshot.BuryCounter,
            PausedUntil = snapshot.PausedUntil,
        };
        state._jobs.EnsureCapacity(snapshot.Jobs.Count);
        // Each set is built at once from its entries, sorted (much cheaper than a million inserts).
        var ready = new List<Entry>(snapshot.Jobs.Count);
        var delayed = new List<Entry>();
        var buried = new List<Entry>();
        foreach (var s in snapshot.Jobs)
        {
            var e = new Entry(s.Job, s.Seq)
            {
                Priority = s.Priority,
                RunDueAt = s.RunDueAt,
                Delay = s.Delay,
                Attempts = s.Attempts,
                Reserves = s.Reserves,
                Timeouts = s.Timeouts,
                Releases = s.Releases,
                Buries = s.Buries,
                Kicks = s.Kicks,
                LastError = s.LastError,
            };
            if (!state.TryIndex(e))
                throw new InvalidOperationException($"snapshot holds job '{s.Job.Id}' twice");
            switch (s.State)
            {
                case JobState.Ready:
                    e.State = JobState.Ready;
                    if (e.Priority < Job.UrgentBelow)
                        state._urgent++;
                    ready.Add(e);
                    break;
                case JobState.Delayed:
                    e.State = JobState.Delayed;
                    e.DueAt = s.DueAt ?? throw Corrupt(s, "due time");
                    delayed.Add(e);
                    break;
                case JobState.Buried:
                    e.BuryOrder = s.BuryOrder;
                    e.State = JobState.Buried;
                    buried.Add(e);
                    break;
                case JobState.Reserved:
                    state.ApplyReserved(new JobReserved(state.Now, s.Job.Id, s.Token, s.LeaseDeadline ?? throw Corrupt(s, "lease deadline"), s.Holder ?? ""));
                    e.Reserves--; // ApplyReserved counted the reservation again
                    e.Attempts--;
                    break;
                default: throw Corrupt(s, "state");
            }
        }
        state._ready = Sorted(ready, ReadyOrder.Instance);
        state._delayed = Sorted(delayed, DueOrder.Instance);
        state._buried = Sorted(buried, BuryOrder.Instance);
        return state;

        static InvalidOperationException Corrupt(JobSnapshot s, string what) => new($"snapshot of job '{s.Job.Id}' has no valid {what}");
    }

    private static SortedSet<Entry> Sorted(List<Entry> entries, IComparer<Entry> order)
    {
        var set = new SortedSet<Entry>(entries, order);
        if (set.Count != entries.Count)
            throw new InvalidOperationException("snapshot holds two jobs in one place of an order");
        return set;
    }
}
