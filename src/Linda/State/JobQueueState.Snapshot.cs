using static Linda.JobQueue;

namespace Linda;

// Snapshots: the whole state as a value, and back.
public sealed partial class JobQueueState
{
    /// <summary>A copy of the whole state, for a snapshot; the state can go on changing.</summary>
    public JobQueueSnapshot ToSnapshot() =>
        new(Queue, Now, NextSeq, _buryCounter, PausedUntil,
            _jobs.Values.OrderBy(e => e.Seq).Select(e => e.ToSnapshot()).ToArray(),
            _schedules.Values.OrderBy(s => s.Definition.ScheduleId, StringComparer.Ordinal).Select(s => s.View()).ToArray(),
            _uniqueExpiry.Select(h => new UniqueHoldSnapshot(h.Key, h.JobId, h.Until!.Value)).ToArray());

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
        var restoring = new Restoring(state, snapshot.Jobs.Count);
        if (snapshot.Jobs is IRestorableJobs direct)
            direct.RestoreInto(restoring); // decoded straight into the state, without a JobSnapshot each
        else
        {
            foreach (var s in snapshot.Jobs)
                restoring.Add(s.Job, s.Seq, s.State, s.Priority, s.DueAt, s.RunDueAt, s.Token, s.LeaseDeadline, s.Holder, s.BuryOrder,
                    s.Attempts, s.Reserves, s.Timeouts, s.Releases, s.Buries, s.Kicks, s.LastError, s.Delay, s.CancelRequested);
        }
        restoring.Finish();
        state.RestoreSchedules(snapshot.Schedules);
        state.RestoreUniqueHolds(snapshot.UniqueHolds);
        return state;
    }

    /// <summary>A state being restored, job by job: each set is built at once from its entries, sorted (much cheaper than a million inserts).</summary>
    internal sealed class Restoring
    {
        private readonly JobQueueState _state;
        private readonly List<Entry> _ready;
        private readonly List<Entry> _delayed = [];
        private readonly List<Entry> _buried = [];

        internal Restoring(JobQueueState state, int jobs)
        {
            _state = state;
            _ready = new List<Entry>(jobs);
            state._jobs.EnsureCapacity(jobs);
        }

        /// <summary>One job of the snapshot, with what a <see cref="JobSnapshot"/> holds.</summary>
        /// <exception cref="InvalidOperationException">The job does not fit (a corrupt snapshot).</exception>
        public void Add(Job job, long seq, JobState jobState, uint priority, DateTimeOffset? dueAt, DateTimeOffset runDueAt, long token,
            DateTimeOffset? leaseDeadline, string? holder, long buryOrder, int attempts, int reserves, int timeouts, int releases, int buries,
            int kicks, string? lastError, TimeSpan delay, bool cancelRequested = false)
        {
            var e = new Entry(job, seq)
            {
                Priority = priority,
                RunDueAt = runDueAt,
                Delay = delay,
                Attempts = attempts,
                Reserves = reserves,
                Timeouts = timeouts,
                Releases = releases,
                Buries = buries,
                Kicks = kicks,
                LastError = lastError,
                CancelRequested = cancelRequested && jobState == JobState.Reserved,
            };
            if (!_state.TryIndex(e))
                throw new InvalidOperationException($"snapshot holds job '{job.Id}' twice");
            _state.TakeUniqueKey(e);
            switch (jobState)
            {
                case JobState.Ready:
                    e.State = JobState.Ready;
                    if (e.Priority < Job.UrgentBelow)
                        _state._urgent++;
                    _ready.Add(e);
                    break;
                case JobState.Delayed:
                    e.State = JobState.Delayed;
                    e.DueAt = dueAt ?? throw Corrupt(job, "due time");
                    _delayed.Add(e);
                    break;
                case JobState.Buried:
                    e.BuryOrder = buryOrder;
                    e.State = JobState.Buried;
                    _buried.Add(e);
                    break;
                case JobState.Reserved:
                    _state.ApplyReserved(new JobReserved(_state.Now, job.Id, token, leaseDeadline ?? throw Corrupt(job, "lease deadline"), holder ?? ""));
                    e.Reserves--; // ApplyReserved counted the reservation again
                    e.Attempts--;
                    break;
                default: throw Corrupt(job, "state");
            }
        }

        public void Finish()
        {
            _state._ready = Sorted(_ready, ReadyOrder.Instance);
            // In push order (as a snapshot lists them, unless they came back to Ready later): sorted only when not already.
            for (var i = 1; i < _ready.Count; i++)
            {
                if (SinceOrder(_ready[i - 1], _ready[i]) > 0)
                {
                    _ready.Sort(SinceOrder);
                    break;
                }
            }
            foreach (var e in _ready)
                _state._readySince.Append(e, e.Job.CreatedAt.UtcTicks);
            _state._delayed = Sorted(_delayed, DueOrder.Instance);
            _state._buried = Sorted(_buried, BuryOrder.Instance);
            _state.RebuildKeySlots();
        }

        private static int SinceOrder(Entry a, Entry b)
        {
            var c = a.Job.CreatedAt.UtcTicks.CompareTo(b.Job.CreatedAt.UtcTicks);
            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        }

        private static InvalidOperationException Corrupt(Job job, string what) => new($"snapshot of job '{job.Id}' has no valid {what}");

        private static SortedSet<Entry> Sorted(List<Entry> entries, IComparer<Entry> order)
        {
            var set = new SortedSet<Entry>(entries, order);
            if (set.Count != entries.Count)
                throw new InvalidOperationException("snapshot holds two jobs in one place of an order");
            return set;
        }
    }
}

/// <summary>The jobs of a snapshot as read by a serializer that can hand them to a restoring state without a <see cref="JobSnapshot"/> each.</summary>
internal interface IRestorableJobs
{
    /// <summary>Adds every job to <paramref name="restoring"/>, in order.</summary>
    void RestoreInto(JobQueueState.Restoring restoring);
}
