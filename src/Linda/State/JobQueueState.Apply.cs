using static Linda.JobQueue;

namespace Linda;

// Apply: the only way the state changes, live after a decision and on replay alike.
public sealed partial class JobQueueState
{
    /// <summary>Applies the events of one journal write, in order (a replay of an <see cref="EventBatch"/>).</summary>
    /// <exception cref="InvalidOperationException">An event does not fit the state (a corrupt journal).</exception>
    public void Apply(EventBatch batch)
    {
        foreach (var e in batch.Events)
            Apply(e);
    }

    /// <summary>
    /// Applies an event, first advancing to its time. Used live after a decision and on replay alike.
    /// </summary>
    /// <exception cref="InvalidOperationException">The event does not fit the state (a corrupt journal).</exception>
    public void Apply(IEvent evt)
    {
        Advance(evt.At);
        switch (evt)
        {
            case JobPushed e: ApplyPushed(e); break;
            case JobReserved e: ApplyReserved(e); break;
            case JobTouched e: ApplyTouched(e); break;
            case JobCompleted e: ApplyCompleted(e); break;
            case JobReleased e: ApplyReleased(e); break;
            case JobBuried e: ApplyBuried(e); break;
            case JobsKicked e: ApplyKicked(e); break;
            case JobDeleted e: Remove(Get(e.JobId)); break;
            case LeaseLost e: ApplyLeaseLost(e); break;
            case QueuePaused e: PausedUntil = e.Until > Now ? e.Until : null; break;
            case QueueResumed: PausedUntil = null; break;
            case JobCancelled e:
                Remove(Get(e.JobId));
                TotalCancelled++;
                break;
            case JobCancelRequested e: GetReserved(e.JobId).CancelRequested = true; break;
            case ScheduleSet e: ApplyScheduleSet(e); break;
            case ScheduleDropped e: ApplyScheduleDropped(e); break;
            case ScheduleFired e: ApplyScheduleFired(e); break;
            default: throw new InvalidOperationException($"unknown event {evt.GetType().Name}");
        }
    }

    private void ApplyPushed(JobPushed e)
    {
        var entry = new Entry(e.Job, NextSeq) { Priority = e.Job.Priority, RunDueAt = e.DueAt ?? e.At, Delay = DelayOf(e.At, e.DueAt) };
        if (!TryIndex(entry))
            throw new InvalidOperationException($"job '{e.Job.Id}' pushed twice");
        NextSeq++;
        TakeUniqueKey(entry);
        if (e.DueAt is { } due && due > Now)
            AddDelayed(entry, due);
        else
            AddReady(entry);
    }

    private void ApplyReserved(JobReserved e)
    {
        var entry = Get(e.JobId);
        KeyLeased(entry); // before it leaves Ready: its slot is not given to the next of its key
        Detach(entry);
        entry.Reserves++;
        entry.Attempts++;
        entry.Token = e.Token;
        entry.Deadline = e.Deadline;
        entry.Holder = e.Holder;
        entry.State = JobState.Reserved;
        SpendRateCredit();
        entry.Progress = null; // a new run reports its own
        entry.ProgressMessage = null;
        entry.ProgressAt = null;
        _leases.Add(entry);
        if (!_byHolder.TryGetValue(e.Holder, out var held))
            _byHolder[e.Holder] = held = [];
        held.Add(entry);
    }

    private void ApplyTouched(JobTouched e)
    {
        var entry = GetReserved(e.JobId);
        _leases.Remove(entry);
        entry.Deadline = e.Deadline;
        _leases.Add(entry);
    }

    private void ApplyCompleted(JobCompleted e)
    {
        var entry = GetReserved(e.JobId);
        Endings?.Add(new JobEnded(Queue, entry.Job.Id, entry.Job.Payload.Class, JobOutcome.Completed, null, Now, entry.Attempts));
        if (entry.Job.IsPeriodic && !entry.CancelRequested) // a cancelled periodic job has no next run
        {
            Detach(entry);
            ScheduleNextRun(entry, Now);
        }
        else
        {
            Remove(entry);
        }
    }

    private void ApplyReleased(JobReleased e)
    {
        var entry = GetReserved(e.JobId);
        if (EndedAsCancelled(entry))
            return;
        Detach(entry);
        entry.Releases++;
        entry.Delay = DelayOf(e.At, e.DueAt);
        if (e.Priority is { } p)
            entry.Priority = p;
        if (e.Error is not null)
            entry.LastError = e.Error;
        if (e.DueAt is { } due && due > Now)
            AddDelayed(entry, due);
        else
            AddReady(entry);
    }

    private static TimeSpan DelayOf(DateTimeOffset at, DateTimeOffset? dueAt) => dueAt > at ? dueAt.Value - at : TimeSpan.Zero;

    private void ApplyBuried(JobBuried e)
    {
        var entry = GetReserved(e.JobId);
        if (EndedAsCancelled(entry))
            return;
        Detach(entry);
        if (e.Priority is { } p)
            entry.Priority = p;
        AddBuried(entry, e.Reason);
    }

    private void ApplyKicked(JobsKicked e)
    {
        foreach (var id in e.JobIds)
        {
            var entry = Get(id);
            if (entry.State is not (JobState.Buried or JobState.Delayed))
                throw new InvalidOperationException($"job '{id}' is {entry.State} and can't be kicked");
            if (entry.State == JobState.Buried)
                entry.Attempts = 0; // a kicked buried job gets its retries again
            Detach(entry);
            entry.Kicks++;
            AddReady(entry);
        }
    }

    private void ApplyLeaseLost(LeaseLost e)
    {
        var entry = GetReserved(e.JobId);
        if (entry.Token != e.Token)
            throw new InvalidOperationException($"job '{e.JobId}' lost a lease it did not hold");
        EndLease(entry, e.Reason, Now);
    }
}
