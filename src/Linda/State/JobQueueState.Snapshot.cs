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
            state.Index(e);
            switch (s.State)
            {
                case JobState.Ready: state.AddReady(e); break;
                case JobState.Delayed: state.AddDelayed(e, s.DueAt ?? throw Corrupt(s, "due time")); break;
                case JobState.Buried:
                    e.BuryOrder = s.BuryOrder;
                    e.State = JobState.Buried;
                    state._buried.Add(e);
                    break;
                case JobState.Reserved:
                    state.ApplyReserved(new JobReserved(state.Now, s.Job.Id, s.Token, s.LeaseDeadline ?? throw Corrupt(s, "lease deadline"), s.Holder ?? ""));
                    e.Reserves--; // ApplyReserved counted the reservation again
                    e.Attempts--;
                    break;
                default: throw Corrupt(s, "state");
            }
        }
        return state;

        static InvalidOperationException Corrupt(JobSnapshot s, string what) => new($"snapshot of job '{s.Job.Id}' has no valid {what}");
    }
}
