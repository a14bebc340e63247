using static Linda.JobQueue;

namespace Linda;

// Decide: check a command against the state and say which event it makes (nothing changes here).
public sealed partial class JobQueueState
{
    /// <summary>Decides a <see cref="JobQueue.Push"/>: a <see cref="JobPushed"/> or a refusal.</summary>
    public Decision Push(Push cmd)
    {
        var queueError = QueuePartitions.CheckQueueName(cmd.Queue);
        if (queueError is not null)
            return Decision.Refuse(new Rejected(RejectReason.InvalidQueueName, queueError));
        if (cmd.Queue != Queue)
            return Decision.Refuse(new Rejected(RejectReason.WrongQueue, $"push for queue '{cmd.Queue}' was sent to queue '{Queue}'"));
        string id;
        if (cmd.Id is null)
        {
            id = IdPrefix + NextSeq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            var idError = Names.Check(cmd.Id, "job id");
            if (idError is not null)
                return Decision.Refuse(new Rejected(RejectReason.InvalidJobId, idError));
            if (Names.IsDigits(cmd.Id))
                return Decision.Refuse(new Rejected(RejectReason.InvalidJobId, $"job id '{cmd.Id}' is all digits; such ids are reserved for generated ids"));
            if (IdPrefix.Length > 0 && cmd.Id.StartsWith(IdPrefix, StringComparison.Ordinal) && Names.IsDigits(cmd.Id[IdPrefix.Length..]))
                return Decision.Refuse(new Rejected(RejectReason.InvalidJobId, $"job id '{cmd.Id}' has the form {IdPrefix}NUMBER; such ids are reserved for the ids this partition generates"));
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
        var timeout = cmd.Timeout ?? Limits.DefaultTimeout;
        if (timeout is { } t && (t <= TimeSpan.Zero || t > Limits.MaxTimeToRun))
            return Decision.Refuse(new Rejected(RejectReason.InvalidTimeToRun, $"timeout {t} is outside (0, {Limits.MaxTimeToRun}]"));
        if (CheckConcurrencyKey(cmd) is { } keyError)
            return Decision.Refuse(keyError);
        if (CheckUnique(cmd) is { } uniqueError)
            return Decision.Refuse(uniqueError);
        if (cmd.UniqueKey is { } key && UniqueHolder(key) is { } holder)
            return Decision.Refuse(new AlreadyExists(holder)); // the job that has the key: nothing is pushed twice

        var maxRetries = cmd.MaxRetries is { } m ? (m < 0 ? null : m) : Limits.DefaultMaxRetries;
        var job = new Job(id, Queue, cmd.Payload, cmd.Priority ?? Job.DefaultPriority, ttr, maxRetries, cmd.Period, Now)
        {
            TraceParent = cmd.TraceParent is { } trace && System.Diagnostics.ActivityContext.TryParse(trace, null, out _) ? trace : null,
            UniqueKey = cmd.UniqueKey,
            UniqueFor = cmd.UniqueKey is null ? null : cmd.UniqueFor,
            Timeout = timeout,
            ConcurrencyKey = cmd.ConcurrencyKey,
        };
        DateTimeOffset? dueAt = cmd.Delay > TimeSpan.Zero ? Now + cmd.Delay : null;
        return Decision.Accept(new JobPushed(Now, job, dueAt), new Pushed(id, dueAt is null ? JobState.Ready : JobState.Delayed) { Seq = NextSeq });
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
            new Reserved(e.Job, token, deadline, e.Attempts + 1) { Seq = e.Seq });
    }

    /// <summary>
    /// Decides a <see cref="JobQueue.ReserveJob"/>: leases the job to <paramref name="holder"/> under
    /// <paramref name="token"/> unless it is reserved already. A pause does not stop it (beanstalkd's
    /// rule: the client names the job).
    /// </summary>
    public Decision ReserveJob(ReserveJob cmd, string holder, long token)
    {
        if (Find(cmd.JobId) is not { } e)
            return Decision.Refuse(new NotFound(cmd.JobId ?? ""));
        if (e.State == JobState.Reserved)
            return Decision.Refuse(new Leased(e.Job.Id));
        return Lease(e, holder, token);
    }

    /// <summary>
    /// Decides a <see cref="JobQueue.Cancel"/>: a waiting job is removed (<see cref="JobCancelled"/>); a
    /// reserved one is marked (<see cref="JobCancelRequested"/>), and its holder is to be told; a second
    /// cancel of a running job changes nothing.
    /// </summary>
    public Decision Cancel(Cancel cmd)
    {
        if (Find(cmd.JobId) is not { } e)
            return Decision.Refuse(new NotFound(cmd.JobId ?? ""));
        if (e.State != JobState.Reserved)
            return Decision.Accept(new JobCancelled(Now, e.Job.Id), new Cancelled(e.Job.Id, WasRunning: false));
        return e.CancelRequested
            ? Decision.Answer(new Cancelled(e.Job.Id, WasRunning: true))
            : Decision.Accept(new JobCancelRequested(Now, e.Job.Id), new Cancelled(e.Job.Id, WasRunning: true));
    }

    /// <summary>
    /// Keeps a running job's progress (no event: it is not persisted). True when taken: the job is
    /// reserved under that token, the percent is 0 to 100 and the message within the text limit.
    /// </summary>
    public bool SetProgress(ReportProgress report)
    {
        if (Find(report.JobId) is not { State: JobState.Reserved } e || e.Token != report.Token
            || report.Percent is < 0 or > 100 || CheckText(report.Message, "progress message") is not null)
            return false;
        e.Progress = report.Percent;
        e.ProgressMessage = report.Message;
        e.ProgressAt = Now;
        return true;
    }

    /// <summary>Decides a <see cref="JobQueue.Complete"/>.</summary>
    public Decision Complete(Complete cmd)
    {
        if (CheckLease(cmd, out var e) is { } refusal)
            return Decision.Refuse(refusal);
        DateTimeOffset? next = e.Job.IsPeriodic ? NextRun(e, Now) : null;
        return Decision.Accept(new JobCompleted(Now, e.Job.Id), new Completed(e.Job.Id, next));
    }

    /// <summary>Decides a <see cref="JobQueue.Release"/>.</summary>
    public Decision Release(Release cmd)
    {
        if (CheckLease(cmd, out var e) is { } refusal)
            return Decision.Refuse(refusal);
        if (CheckDelay(cmd.Delay, "release delay") is { } delayError)
            return Decision.Refuse(delayError);
        if (CheckText(cmd.Error, "error") is { } textError)
            return Decision.Refuse(textError);
        DateTimeOffset? dueAt = cmd.Delay > TimeSpan.Zero ? Now + cmd.Delay : null;
        return Decision.Accept(
            new JobReleased(Now, e.Job.Id, cmd.Priority, dueAt, cmd.Error),
            new Released(e.Job.Id, dueAt is null ? JobState.Ready : JobState.Delayed));
    }

    /// <summary>Decides a <see cref="JobQueue.Bury"/>.</summary>
    public Decision Bury(Bury cmd)
    {
        if (CheckLease(cmd, out var e) is { } refusal)
            return Decision.Refuse(refusal);
        if (CheckText(cmd.Reason, "bury reason") is { } textError)
            return Decision.Refuse(textError);
        return Decision.Accept(new JobBuried(Now, e.Job.Id, cmd.Reason ?? "", cmd.Priority), new Buried(e.Job.Id));
    }

    /// <summary>Decides a <see cref="JobQueue.Touch"/>: the lease is renewed for the job's time-to-run from now.</summary>
    public Decision Touch(Touch cmd)
    {
        if (CheckLease(cmd, out var e) is { } refusal)
            return Decision.Refuse(refusal);
        var deadline = Now + e.Job.TimeToRun;
        return Decision.Accept(new JobTouched(Now, e.Job.Id, deadline), new Touched(e.Job.Id, deadline));
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
        if (Find(cmd.JobId) is not { } e)
            return Decision.Refuse(new NotFound(cmd.JobId ?? ""));
        if (e.State is not (JobState.Buried or JobState.Delayed))
            return Decision.Refuse(new NotKickable(e.Job.Id, e.State));
        return Decision.Accept(new JobsKicked(Now, [e.Job.Id]), new KickedJob(e.Job.Id));
    }

    /// <summary>Decides a <see cref="JobQueue.Delete"/>: a job in any state (but Reserved with <see cref="JobQueue.Delete.SpareLeased"/>).</summary>
    public Decision Delete(Delete cmd)
    {
        if (Find(cmd.JobId) is not { } e)
            return Decision.Refuse(new NotFound(cmd.JobId ?? ""));
        if (cmd.SpareLeased && e.State == JobState.Reserved)
            return Decision.Refuse(new Leased(e.Job.Id));
        return Decision.Accept(new JobDeleted(Now, e.Job.Id), new Deleted(e.Job.Id));
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
    public JobView? View(string jobId) => Find(jobId)?.ToView();

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
}
