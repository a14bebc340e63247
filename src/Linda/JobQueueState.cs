using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// What a decision on a command came to: either a refusal (<see cref="Event"/> is <c>null</c> and
/// <see cref="Reply"/> is an <see cref="IFailure"/>), a reply that changes nothing, or an event to
/// persist and apply followed by <see cref="Reply"/>.
/// </summary>
public readonly record struct Decision(IEvent? Event, IReply Reply)
{
    internal static Decision Refuse(IFailure failure) => new(null, failure);
    internal static Decision Accept(IEvent e, IReply reply) => new(e, reply);
    internal static Decision Answer(IReply reply) => new(null, reply);
}

/// <summary>
/// The pure state machine of one queue: its jobs in four ordered sets, their leases and counters.
/// No actors, no clock and no I/O: time comes in through <see cref="Advance"/> and every event
/// carries the absolute time it happened, so replaying the same events gives the same state, whenever
/// the replay runs. The <c>Decide</c> methods (<see cref="Push"/>, <see cref="Reserve"/>, ...) check a
/// command against the state and say which event it makes; only <see cref="Apply"/> changes the state.
/// </summary>
/// <remarks>
/// What time alone decides is never persisted (beanstalkd's rule): a delayed job becoming ready, a
/// lease expiring, a pause ending. <see cref="Apply"/> first advances to the event's time, so those
/// transitions happen at the same point of the event sequence on replay as they did live.
/// Every operation is O(log n).
/// </remarks>
public sealed class JobQueueState
{
    private readonly Dictionary<string, Entry> _jobs = new(StringComparer.Ordinal);
    private readonly SortedSet<Entry> _ready = new(ReadyOrder.Instance);
    private readonly SortedSet<Entry> _delayed = new(DueOrder.Instance);
    private readonly SortedSet<Entry> _leases = new(DeadlineOrder.Instance);
    private readonly SortedSet<Entry> _buried = new(BuryOrder.Instance);
    private readonly Dictionary<string, HashSet<Entry>> _byHolder = new(StringComparer.Ordinal);
    private int _urgent;
    private long _buryCounter;

    /// <summary>A new, empty queue.</summary>
    public JobQueueState(string queue, QueueLimits? limits = null)
    {
        var invalid = Names.Check(queue, "queue name");
        if (invalid is not null)
            throw new ArgumentException(invalid, nameof(queue));
        Queue = queue;
        Limits = limits ?? QueueLimits.Default;
    }

    /// <summary>The queue's name.</summary>
    public string Queue { get; }

    /// <summary>What the queue accepts.</summary>
    public QueueLimits Limits { get; }

    /// <summary>The latest time the state has advanced to; never goes back.</summary>
    public DateTimeOffset Now { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>The push sequence number the next job gets (and its id, when the id is generated).</summary>
    public long NextSeq { get; private set; } = 1;

    /// <summary>Jobs ever pushed to the queue.</summary>
    public long TotalJobs => NextSeq - 1;

    /// <summary>Leases that expired since this state was built (from the journal or a snapshot): beanstalkd's <c>job-timeouts</c>.</summary>
    public long LeaseTimeouts { get; private set; }

    /// <summary>While set, no job is handed out until then.</summary>
    public DateTimeOffset? PausedUntil { get; private set; }

    /// <summary>Jobs in Ready.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>Jobs in Ready with a priority below 1024.</summary>
    public int UrgentCount => _urgent;

    /// <summary>Jobs in Delayed.</summary>
    public int DelayedCount => _delayed.Count;

    /// <summary>Jobs in Reserved.</summary>
    public int ReservedCount => _leases.Count;

    /// <summary>Jobs in Buried.</summary>
    public int BuriedCount => _buried.Count;

    /// <summary>Jobs in any state.</summary>
    public int Count => _jobs.Count;

    /// <summary>True when a reserve would be served now: a job is ready and the queue is not paused.</summary>
    public bool CanReserve => _ready.Count > 0 && PausedUntil is null;

    /// <summary>
    /// The soonest time at which time alone changes the state: a delayed job's due time, a lease's
    /// deadline or the end of a pause. The queue actor keeps one timer for it.
    /// </summary>
    public DateTimeOffset? NextDueAt
    {
        get
        {
            DateTimeOffset? next = PausedUntil;
            if (_delayed.Count > 0 && (next is null || _delayed.Min!.DueAt < next))
                next = _delayed.Min!.DueAt;
            if (_leases.Count > 0 && (next is null || _leases.Min!.Deadline < next))
                next = _leases.Min!.Deadline;
            return next;
        }
    }

    /// <summary>The holders (actor paths) that hold at least one lease.</summary>
    public IEnumerable<string> Holders => _byHolder.Keys;

    // ================================================================ time

    /// <summary>
    /// Moves the state to <paramref name="now"/>: ends a pause that is over, makes due delayed jobs
    /// ready, and expires leases past their deadline (the job goes back to Ready, or is buried once its
    /// retries are used up; a periodic job then waits for its next run). A time earlier than
    /// <see cref="Now"/> changes nothing.
    /// </summary>
    /// <returns>True if anything changed.</returns>
    public bool Advance(DateTimeOffset now)
    {
        if (now <= Now)
            return false;
        Now = now;
        var changed = false;
        if (PausedUntil <= now)
        {
            PausedUntil = null;
            changed = true;
        }
        // Due jobs and expired leases in time order, each at its own time, so that the result does not
        // depend on how many steps time took to get here (live timer ticks vs. one jump on replay): a
        // periodic job whose lease expired is rescheduled from its deadline, and that next run may itself
        // be due by now.
        while (true)
        {
            var due = _delayed.Count > 0 && _delayed.Min!.DueAt <= now ? _delayed.Min : null;
            var expired = _leases.Count > 0 && _leases.Min!.Deadline <= now ? _leases.Min : null;
            if (expired is not null && (due is null || expired.Deadline < due.DueAt))
            {
                expired.Timeouts++;
                LeaseTimeouts++;
                EndLease(expired, $"lease expired after {expired.Job.TimeToRun.TotalSeconds:0.###} s", expired.Deadline);
            }
            else if (due is not null)
            {
                _delayed.Remove(due);
                AddReady(due);
            }
            else
            {
                break;
            }
            changed = true;
        }
        return changed;
    }

    // ================================================================ decisions

    /// <summary>Decides a <see cref="JobQueue.Push"/>: a <see cref="JobPushed"/> or a refusal.</summary>
    public Decision Push(Push cmd)
    {
        var queueError = Names.Check(cmd.Queue, "queue name");
        if (queueError is not null)
            return Decision.Refuse(new Rejected(RejectReason.InvalidQueueName, queueError));
        if (cmd.Queue != Queue)
            return Decision.Refuse(new Rejected(RejectReason.WrongQueue, $"push for queue '{cmd.Queue}' was sent to queue '{Queue}'"));
        string id;
        if (cmd.Id is null)
        {
            id = NextSeq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            var idError = Names.Check(cmd.Id, "job id");
            if (idError is not null)
                return Decision.Refuse(new Rejected(RejectReason.InvalidJobId, idError));
            if (cmd.Id.All(char.IsAsciiDigit))
                return Decision.Refuse(new Rejected(RejectReason.InvalidJobId, $"job id '{cmd.Id}' is all digits; such ids are reserved for generated ids"));
            id = cmd.Id;
        }
        if (cmd.Payload is null)
            return Decision.Refuse(new Rejected(RejectReason.InvalidClass, "the job has no payload"));
        var cls = cmd.Payload.Class;
        if (cls.Length == 0 || cls.Length > Names.MaxLength || cls.Any(char.IsControl))
            return Decision.Refuse(new Rejected(RejectReason.InvalidClass, $"class name must be 1 to {Names.MaxLength} printable characters"));
        var size = cmd.Payload.Size;
        if (size > Limits.MaxPayloadBytes)
            return Decision.Refuse(new Rejected(RejectReason.PayloadTooLarge, $"payload is {size} bytes; the limit is {Limits.MaxPayloadBytes}"));
        if (CheckDelay(cmd.Delay, "delay") is { } delayError)
            return Decision.Refuse(delayError);
        var ttr = cmd.TimeToRun ?? Limits.DefaultTimeToRun;
        if (ttr <= TimeSpan.Zero || ttr > Limits.MaxTimeToRun)
            return Decision.Refuse(new Rejected(RejectReason.InvalidTimeToRun, $"time-to-run {ttr} is outside (0, {Limits.MaxTimeToRun}]"));
        if (cmd.Period is { } period && (period < Limits.MinPeriod || period > Limits.MaxDelay))
            return Decision.Refuse(new Rejected(RejectReason.InvalidPeriod, $"period {period} is outside [{Limits.MinPeriod}, {Limits.MaxDelay}]"));
        if (_jobs.ContainsKey(id))
            return Decision.Refuse(new AlreadyExists(id));

        var maxRetries = cmd.MaxRetries is { } m ? (m < 0 ? null : m) : Limits.DefaultMaxRetries;
        var job = new Job(id, Queue, cmd.Payload, cmd.Priority ?? Job.DefaultPriority, ttr, maxRetries, cmd.Period, Now);
        DateTimeOffset? dueAt = cmd.Delay > TimeSpan.Zero ? Now + cmd.Delay : null;
        return Decision.Accept(new JobPushed(Now, job, dueAt), new Pushed(id, dueAt is null ? JobState.Ready : JobState.Delayed));
    }

    /// <summary>
    /// Decides a reservation for <paramref name="holder"/> with lease <paramref name="token"/>: the most
    /// urgent, then oldest ready job. Only call it when <see cref="CanReserve"/>.
    /// </summary>
    public Decision Reserve(string holder, long token)
    {
        if (!CanReserve)
            throw new InvalidOperationException("no job can be reserved now");
        return Lease(_ready.Min!, holder, token);
    }

    /// <summary>Leases <paramref name="e"/> to <paramref name="holder"/> for its time-to-run.</summary>
    private Decision Lease(Entry e, string holder, long token)
    {
        var deadline = Now + e.Job.TimeToRun;
        return Decision.Accept(
            new JobReserved(Now, e.Job.Id, token, deadline, holder),
            new Reserved(e.Job, token, deadline, e.Attempts + 1));
    }

    /// <summary>
    /// Decides a <see cref="JobQueue.ReserveJob"/>: leases the job to <paramref name="holder"/> under
    /// <paramref name="token"/> unless it is reserved already. A pause does not stop it (beanstalkd's
    /// rule: the client names the job).
    /// </summary>
    public Decision ReserveJob(ReserveJob cmd, string holder, long token)
    {
        if (!_jobs.TryGetValue(cmd.JobId ?? "", out var e))
            return Decision.Refuse(new NotFound(cmd.JobId ?? ""));
        if (e.State == JobState.Reserved)
            return Decision.Refuse(new Leased(e.Job.Id));
        return Lease(e, holder, token);
    }

    /// <summary>Decides a <see cref="JobQueue.Complete"/>.</summary>
    public Decision Complete(Complete cmd)
    {
        if (CheckLease(cmd) is { } refusal)
            return Decision.Refuse(refusal);
        var e = _jobs[cmd.JobId];
        DateTimeOffset? next = e.Job.IsPeriodic ? NextRun(e, Now) : null;
        return Decision.Accept(new JobCompleted(Now, cmd.JobId), new Completed(cmd.JobId, next));
    }

    /// <summary>Decides a <see cref="JobQueue.Release"/>.</summary>
    public Decision Release(Release cmd)
    {
        if (CheckLease(cmd) is { } refusal)
            return Decision.Refuse(refusal);
        if (CheckDelay(cmd.Delay, "release delay") is { } delayError)
            return Decision.Refuse(delayError);
        if (CheckText(cmd.Error, "error") is { } textError)
            return Decision.Refuse(textError);
        DateTimeOffset? dueAt = cmd.Delay > TimeSpan.Zero ? Now + cmd.Delay : null;
        return Decision.Accept(
            new JobReleased(Now, cmd.JobId, cmd.Priority, dueAt, cmd.Error),
            new Released(cmd.JobId, dueAt is null ? JobState.Ready : JobState.Delayed));
    }

    /// <summary>Decides a <see cref="JobQueue.Bury"/>.</summary>
    public Decision Bury(Bury cmd)
    {
        if (CheckLease(cmd) is { } refusal)
            return Decision.Refuse(refusal);
        if (CheckText(cmd.Reason, "bury reason") is { } textError)
            return Decision.Refuse(textError);
        return Decision.Accept(new JobBuried(Now, cmd.JobId, cmd.Reason ?? "", cmd.Priority), new Buried(cmd.JobId));
    }

    /// <summary>Decides a <see cref="JobQueue.Touch"/>: the lease is renewed for the job's time-to-run from now.</summary>
    public Decision Touch(Touch cmd)
    {
        if (CheckLease(cmd) is { } refusal)
            return Decision.Refuse(refusal);
        var deadline = Now + _jobs[cmd.JobId].Job.TimeToRun;
        return Decision.Accept(new JobTouched(Now, cmd.JobId, deadline), new Touched(cmd.JobId, deadline));
    }

    /// <summary>Decides a <see cref="JobQueue.Kick"/>: buried jobs first (in bury order); if none, delayed ones (soonest first).</summary>
    public Decision Kick(Kick cmd)
    {
        if (cmd.Bound < 0)
            return Decision.Refuse(new Rejected(RejectReason.InvalidBound, $"kick bound {cmd.Bound} is negative"));
        var from = _buried.Count > 0 ? _buried : _delayed;
        var ids = from.Take(cmd.Bound).Select(e => e.Job.Id).ToArray();
        if (ids.Length == 0)
            return Decision.Answer(new Kicked(0));
        return Decision.Accept(new JobsKicked(Now, ids), new Kicked(ids.Length));
    }

    /// <summary>Decides a <see cref="JobQueue.KickJob"/>.</summary>
    public Decision KickJob(KickJob cmd)
    {
        if (!_jobs.TryGetValue(cmd.JobId ?? "", out var e))
            return Decision.Refuse(new NotFound(cmd.JobId ?? ""));
        if (e.State is not (JobState.Buried or JobState.Delayed))
            return Decision.Refuse(new NotKickable(cmd.JobId!, e.State));
        return Decision.Accept(new JobsKicked(Now, [e.Job.Id]), new KickedJob(e.Job.Id));
    }

    /// <summary>Decides a <see cref="JobQueue.Delete"/>: a job in any state (but Reserved with <see cref="JobQueue.Delete.SpareLeased"/>).</summary>
    public Decision Delete(Delete cmd)
    {
        if (!_jobs.TryGetValue(cmd.JobId ?? "", out var e))
            return Decision.Refuse(new NotFound(cmd.JobId ?? ""));
        if (cmd.SpareLeased && e.State == JobState.Reserved)
            return Decision.Refuse(new Leased(cmd.JobId!));
        return Decision.Accept(new JobDeleted(Now, cmd.JobId!), new Deleted(cmd.JobId!));
    }

    /// <summary>Decides a <see cref="JobQueue.Pause"/>.</summary>
    public Decision Pause(Pause cmd)
    {
        if (cmd.Duration < TimeSpan.Zero || cmd.Duration > Limits.MaxDelay)
            return Decision.Refuse(new Rejected(RejectReason.InvalidDuration, $"pause of {cmd.Duration} is outside [0, {Limits.MaxDelay}]"));
        var until = Now + cmd.Duration;
        return Decision.Accept(new QueuePaused(Now, until), new Paused(until));
    }

    /// <summary>Decides a <see cref="JobQueue.Resume"/>; resuming a queue that is not paused changes nothing.</summary>
    public Decision Resume() =>
        PausedUntil is null
            ? Decision.Answer(Resumed.Instance)
            : Decision.Accept(new QueueResumed(Now), Resumed.Instance);

    /// <summary>Decides the loss of a lease whose holder died; <c>null</c> if the lease is already over.</summary>
    public IEvent? LoseLease(string jobId, long token, string reason)
    {
        if (!_jobs.TryGetValue(jobId, out var e) || e.State != JobState.Reserved || e.Token != token)
            return null;
        return new LeaseLost(Now, jobId, token, reason);
    }

    /// <summary>The leases <paramref name="holder"/> holds, as (job id, token).</summary>
    public IReadOnlyList<(string JobId, long Token)> LeasesOf(string holder) =>
        _byHolder.TryGetValue(holder, out var set) ? set.Select(e => (e.Job.Id, e.Token)).ToArray() : [];

    /// <summary>True when job <paramref name="jobId"/> is reserved by <paramref name="holder"/>.</summary>
    public bool IsLeasedTo(string jobId, string holder) =>
        _jobs.TryGetValue(jobId, out var e) && e.State == JobState.Reserved && e.Holder == holder;

    /// <summary>True when <paramref name="holder"/> holds at least one lease.</summary>
    public bool HoldsLeases(string holder) => _byHolder.ContainsKey(holder);

    /// <summary>Checks a reserve wait: a refusal, or <c>null</c> if it is acceptable.</summary>
    public Rejected? CheckWait(TimeSpan wait) =>
        wait < TimeSpan.Zero || wait > Limits.MaxDelay
            ? new Rejected(RejectReason.InvalidWait, $"reserve wait {wait} is outside [0, {Limits.MaxDelay}]")
            : null;

    // ================================================================ queries

    /// <summary>A job with its state and counters, or <c>null</c>.</summary>
    public JobView? View(string jobId) => jobId is not null && _jobs.TryGetValue(jobId, out var e) ? e.ToView() : null;

    /// <summary>The next job to be reserved, or <c>null</c>.</summary>
    public JobView? PeekReady() => _ready.Min?.ToView();

    /// <summary>The delayed job due soonest, or <c>null</c>.</summary>
    public JobView? PeekDelayed() => _delayed.Min?.ToView();

    /// <summary>The buried job a kick takes first, or <c>null</c>.</summary>
    public JobView? PeekBuried() => _buried.Min?.ToView();

    /// <summary>The ready jobs in the order they would be reserved.</summary>
    public IEnumerable<JobView> ReadyJobs => _ready.Select(e => e.ToView());

    /// <summary>The delayed jobs, soonest first.</summary>
    public IEnumerable<JobView> DelayedJobs => _delayed.Select(e => e.ToView());

    /// <summary>The buried jobs in kick order.</summary>
    public IEnumerable<JobView> BuriedJobs => _buried.Select(e => e.ToView());

    /// <summary>The reserved jobs, earliest deadline first.</summary>
    public IEnumerable<JobView> ReservedJobs => _leases.Select(e => e.ToView());

    // ================================================================ apply

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
            default: throw new InvalidOperationException($"unknown event {evt.GetType().Name}");
        }
    }

    private void ApplyPushed(JobPushed e)
    {
        if (_jobs.ContainsKey(e.Job.Id))
            throw new InvalidOperationException($"job '{e.Job.Id}' pushed twice");
        var entry = new Entry(e.Job, NextSeq++) { Priority = e.Job.Priority, RunDueAt = e.DueAt ?? e.At, Delay = DelayOf(e.At, e.DueAt) };
        _jobs.Add(e.Job.Id, entry);
        if (e.DueAt is { } due && due > Now)
            AddDelayed(entry, due);
        else
            AddReady(entry);
    }

    private void ApplyReserved(JobReserved e)
    {
        var entry = Get(e.JobId);
        Detach(entry);
        entry.Reserves++;
        entry.Attempts++;
        entry.Token = e.Token;
        entry.Deadline = e.Deadline;
        entry.Holder = e.Holder;
        entry.State = JobState.Reserved;
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
        if (entry.Job.IsPeriodic)
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

    // ================================================================ snapshots

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
            state._jobs.Add(s.Job.Id, e);
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

    // ================================================================ internals

    private Entry Get(string id) =>
        _jobs.TryGetValue(id, out var e) ? e : throw new InvalidOperationException($"event for unknown job '{id}'");

    private Entry GetReserved(string id)
    {
        var e = Get(id);
        return e.State == JobState.Reserved ? e : throw new InvalidOperationException($"job '{id}' is {e.State}, not reserved");
    }

    private IFailure? CheckLease(ILeaseCommand cmd)
    {
        if (cmd.JobId is null || !_jobs.TryGetValue(cmd.JobId, out var e))
            return new NotFound(cmd.JobId ?? "");
        if (e.State != JobState.Reserved)
            return new NotReserved(cmd.JobId, e.State);
        if (e.Token != cmd.Token)
            return new StaleLease(cmd.JobId);
        return null;
    }

    private Rejected? CheckDelay(TimeSpan delay, string what) =>
        delay < TimeSpan.Zero || delay > Limits.MaxDelay
            ? new Rejected(RejectReason.InvalidDelay, $"{what} {delay} is outside [0, {Limits.MaxDelay}]")
            : null;

    private Rejected? CheckText(string? text, string what) =>
        text is not null && text.Length > Limits.MaxTextLength
            ? new Rejected(RejectReason.InvalidText, $"{what} is {text.Length} characters; the limit is {Limits.MaxTextLength}")
            : null;

    /// <summary>
    /// The next run of a periodic job completed at <paramref name="at"/>: its previous due time plus one
    /// period, or, when runs were missed, the first time on that grid after <paramref name="at"/>.
    /// </summary>
    private static DateTimeOffset NextRun(Entry e, DateTimeOffset at)
    {
        var period = e.Job.Period!.Value.Ticks;
        var behind = (at - e.RunDueAt).Ticks;
        var periods = behind < 0 ? 1 : behind / period + 1;
        return e.RunDueAt + TimeSpan.FromTicks(periods * period);
    }

    private void ScheduleNextRun(Entry e, DateTimeOffset at)
    {
        var next = NextRun(e, at);
        e.RunDueAt = next;
        e.Attempts = 0;
        AddDelayed(e, next);
    }

    /// <summary>A lease ended without a verdict (expired or holder died): Ready, or Buried when retries are used up.</summary>
    private void EndLease(Entry e, string reason, DateTimeOffset at)
    {
        Detach(e);
        if (e.Job.MaxRetries is { } max && e.Attempts > max)
        {
            var why = $"{reason}; attempt {e.Attempts} of {max + 1}";
            if (e.Job.IsPeriodic)
            {
                e.LastError = why;
                ScheduleNextRun(e, at);
            }
            else
            {
                AddBuried(e, why);
            }
        }
        else
        {
            e.LastError = reason; // why the attempt ended: shown with the job (stats-job, JobView)
            AddReady(e);
        }
    }

    private void AddReady(Entry e)
    {
        e.State = JobState.Ready;
        _ready.Add(e);
        if (e.Priority < Job.UrgentBelow)
            _urgent++;
    }

    private void AddDelayed(Entry e, DateTimeOffset due)
    {
        e.State = JobState.Delayed;
        e.DueAt = due;
        _delayed.Add(e);
    }

    private void AddBuried(Entry e, string reason)
    {
        e.State = JobState.Buried;
        e.Buries++;
        e.LastError = reason;
        e.BuryOrder = ++_buryCounter;
        _buried.Add(e);
    }

    /// <summary>Takes a job out of the set its state puts it in.</summary>
    private void Detach(Entry e)
    {
        switch (e.State)
        {
            case JobState.Ready:
                _ready.Remove(e);
                if (e.Priority < Job.UrgentBelow)
                    _urgent--;
                break;
            case JobState.Delayed:
                _delayed.Remove(e);
                break;
            case JobState.Reserved:
                _leases.Remove(e);
                if (_byHolder.TryGetValue(e.Holder!, out var held))
                {
                    held.Remove(e);
                    if (held.Count == 0)
                        _byHolder.Remove(e.Holder!);
                }
                e.Holder = null;
                e.Token = 0;
                break;
            case JobState.Buried:
                _buried.Remove(e);
                break;
        }
    }

    private void Remove(Entry e)
    {
        Detach(e);
        _jobs.Remove(e.Job.Id);
    }

    private sealed class Entry(Job job, long seq)
    {
        public readonly Job Job = job;
        public readonly long Seq = seq;
        public JobState State;
        public uint Priority;
        public DateTimeOffset DueAt;
        public DateTimeOffset RunDueAt;
        public TimeSpan Delay;
        public long Token;
        public DateTimeOffset Deadline;
        public string? Holder;
        public long BuryOrder;
        public int Attempts;
        public int Reserves;
        public int Timeouts;
        public int Releases;
        public int Buries;
        public int Kicks;
        public string? LastError;

        public JobView ToView() => new(
            Job, State, Priority, Seq,
            State == JobState.Delayed ? DueAt : null,
            State == JobState.Reserved ? Deadline : null,
            Attempts, Reserves, Timeouts, Releases, Buries, Kicks, LastError, Delay);

        public JobSnapshot ToSnapshot() => new(
            Job, Seq, State, Priority,
            State == JobState.Delayed ? DueAt : null,
            RunDueAt,
            State == JobState.Reserved ? Token : 0,
            State == JobState.Reserved ? Deadline : null,
            State == JobState.Reserved ? Holder : null,
            State == JobState.Buried ? BuryOrder : 0,
            Attempts, Reserves, Timeouts, Releases, Buries, Kicks, LastError, Delay);
    }

    /// <summary>beanstalkd's <c>job_pri_less</c>: priority, then push order.</summary>
    private sealed class ReadyOrder : IComparer<Entry>
    {
        public static readonly ReadyOrder Instance = new();
        public int Compare(Entry? x, Entry? y)
        {
            var c = x!.Priority.CompareTo(y!.Priority);
            return c != 0 ? c : x.Seq.CompareTo(y.Seq);
        }
    }

    private sealed class DueOrder : IComparer<Entry>
    {
        public static readonly DueOrder Instance = new();
        public int Compare(Entry? x, Entry? y)
        {
            var c = x!.DueAt.UtcTicks.CompareTo(y!.DueAt.UtcTicks);
            return c != 0 ? c : x.Seq.CompareTo(y.Seq);
        }
    }

    private sealed class DeadlineOrder : IComparer<Entry>
    {
        public static readonly DeadlineOrder Instance = new();
        public int Compare(Entry? x, Entry? y)
        {
            var c = x!.Deadline.UtcTicks.CompareTo(y!.Deadline.UtcTicks);
            return c != 0 ? c : x.Seq.CompareTo(y.Seq);
        }
    }

    private sealed class BuryOrder : IComparer<Entry>
    {
        public static readonly BuryOrder Instance = new();
        public int Compare(Entry? x, Entry? y) => x!.BuryOrder.CompareTo(y!.BuryOrder);
    }
}

/// <summary>The whole state of a queue, as saved in a snapshot.</summary>
public sealed record JobQueueSnapshot(
    string Queue,
    DateTimeOffset Now,
    long NextSeq,
    long BuryCounter,
    DateTimeOffset? PausedUntil,
    IReadOnlyList<JobSnapshot> Jobs) : JobQueue.IQueueMessage
{
    /// <summary>True when both snapshots hold the same state, job by job.</summary>
    public bool SameAs(JobQueueSnapshot other) =>
        Queue == other.Queue && Now == other.Now && NextSeq == other.NextSeq && BuryCounter == other.BuryCounter
        && PausedUntil == other.PausedUntil && Jobs.SequenceEqual(other.Jobs);
}

/// <summary>One job in a <see cref="JobQueueSnapshot"/>.</summary>
public sealed record JobSnapshot(
    Job Job,
    long Seq,
    JobState State,
    uint Priority,
    DateTimeOffset? DueAt,
    DateTimeOffset RunDueAt,
    long Token,
    DateTimeOffset? LeaseDeadline,
    string? Holder,
    long BuryOrder,
    int Attempts,
    int Reserves,
    int Timeouts,
    int Releases,
    int Buries,
    int Kicks,
    string? LastError,
    TimeSpan Delay = default);
