using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// The pure state machine of one queue: its jobs in four ordered sets, their leases and counters.
/// No actors, no clock and no I/O: time comes in through <see cref="Advance"/> and every event
/// carries the absolute time it happened, so replaying the same events gives the same state, whenever
/// the replay runs. The <c>Decide</c> methods (<see cref="Push"/>, <see cref="Reserve"/>, ...) check a
/// command against the state and say which event it makes; only <see cref="Apply(IEvent)"/> changes the state.
/// </summary>
/// <remarks>
/// What time alone decides is never persisted (beanstalkd's rule): a delayed job becoming ready, a
/// lease expiring, a pause ending. <see cref="Apply(IEvent)"/> first advances to the event's time, so those
/// transitions happen at the same point of the event sequence on replay as they did live.
/// Every operation is O(log n).
/// </remarks>
public sealed partial class JobQueueState
{
    private readonly Dictionary<string, Entry> _jobs = new(StringComparer.Ordinal);

    // Jobs with ids of their own, by sequence number: a command may name a job by either.
    private readonly Dictionary<long, Entry> _bySeq = [];
    // Not readonly: a state restored from a snapshot builds them at once from their sorted entries.
    private SortedSet<Entry> _ready = new(ReadyOrder.Instance);
    private SortedSet<Entry> _delayed = new(DueOrder.Instance);
    private SortedSet<Entry> _leases = new(DeadlineOrder.Instance);
    private SortedSet<Entry> _buried = new(BuryOrder.Instance);
    private readonly Dictionary<string, HashSet<Entry>> _byHolder = new(StringComparer.Ordinal);
    private readonly ReadySinceList _readySince = new();
    private int _urgent;
    private long _buryCounter;

    /// <summary>A new, empty queue.</summary>
    public JobQueueState(string queue, QueueLimits? limits = null)
    {
        var invalid = QueuePartitions.CheckQueueName(queue);
        if (invalid is not null)
            throw new ArgumentException(invalid, nameof(queue));
        Queue = queue;
        Limits = limits ?? QueueLimits.Default;
        IdPrefix = QueuePartitions.TryParse(queue, out _, out var partition) ? QueuePartitions.IdPrefix(partition) : "";
    }

    /// <summary>
    /// What the ids of the jobs this queue names start with: nothing (the id is the sequence number),
    /// or for a partition of a partitioned queue <c>p{i}.</c> (<see cref="QueuePartitions"/>), so the id names its partition.
    /// </summary>
    public string IdPrefix { get; }

    /// <summary>The queue's name.</summary>
    public string Queue { get; }

    /// <summary>What the queue accepts.</summary>
    public QueueLimits Limits { get; }

    /// <summary>The latest time the state has advanced to; never goes back.</summary>
    public DateTimeOffset Now { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>The push sequence number the next job gets (and its id, when the id is generated).</summary>
    public long NextSeq { get; private set; } = 1;

    /// <summary>Every job in the queue, in no order.</summary>
    public IEnumerable<Job> Jobs => _jobs.Values.Select(e => e.Job);

    /// <summary>Jobs ever pushed to the queue.</summary>
    public long TotalJobs => NextSeq - 1;

    /// <summary>Leases that expired since this state was built (from the journal or a snapshot): beanstalkd's <c>job-timeouts</c>.</summary>
    public long LeaseTimeouts { get; private set; }

    /// <summary>
    /// When the ready job that has waited longest became ready (null with none ready): the queue's lag
    /// is the time since. After a restore from a snapshot, a job that was ready then counts from when
    /// it was pushed (snapshots don't keep the time a job became ready).
    /// </summary>
    public DateTimeOffset? OldestReadySince => _readySince.Oldest is { } e ? new DateTimeOffset(e.ReadySince, TimeSpan.Zero) : null;

    /// <summary>The queue's lag at <paramref name="now"/>: how long the oldest ready job has been ready (zero with none).</summary>
    public TimeSpan LagAt(DateTimeOffset now) => OldestReadySince is { } since && now > since ? now - since : TimeSpan.Zero;

    /// <summary>Jobs cancelled since this state was built (removed while waiting, or ended with their lease after a cancel).</summary>
    public long TotalCancelled { get; private set; }

    /// <summary>The holder (actor path) and token of a reserved job's lease; null when it is not reserved.</summary>
    public (string Holder, long Token)? LeaseOf(string jobId) =>
        Find(jobId) is { State: JobState.Reserved, Holder: { } holder } e ? (holder, e.Token) : null;

    /// <summary>Jobs buried since this state was built (by a verdict, or with their retries used up).</summary>
    public long TotalBuries { get; private set; }

    /// <summary>
    /// When not null, every completion (of a job, or of one run of a periodic job) and every burial is
    /// added to it as it is applied or derived (an expired lease with the retries used up), for the
    /// queue actor to tell once written (<see cref="JobEnded"/>); whoever set it takes them out.
    /// <b>Default:</b> null: nothing is recorded.
    /// </summary>
    public List<JobEnded>? Endings { get; set; }

    /// <summary>While set, no job is handed out until then.</summary>
    public DateTimeOffset? PausedUntil { get; private set; }

    /// <summary>Jobs in Ready (with those held back by their concurrency key's limit).</summary>
    public int ReadyCount => _ready.Count + _held;

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

    /// <summary>True when a reserve would be served now: a job is ready, the queue is not paused, and its rate limit lets one go.</summary>
    public bool CanReserve => _ready.Count > 0 && PausedUntil is null && RateAllows;

    /// <summary>
    /// The soonest time at which time alone changes the state: a delayed job's due time, a lease's
    /// deadline or the end of a pause; or a schedule's next occurrence, when the queue decides its runs
    /// (<see cref="FireDueSchedule"/>). The queue actor keeps one timer for it.
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
            // With a rate limit: when the next reserve may go, while ready jobs wait for it.
            if (PausedUntil is null && _ready.Count > 0 && NextRateCredit is { } credit && (next is null || credit < next))
                next = credit;
            // A schedule's next occurrence; while paused, its runs wait for the pause to end.
            if (PausedUntil is null && NextScheduleDue is { } schedule && (next is null || schedule < next))
                next = schedule;
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
        DropExpiredUniqueKeys(now);
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
                AddReady(due, due.DueAt);
            }
            else
            {
                break;
            }
            changed = true;
        }
        return changed;
    }

    // ================================================================ internals

    private Entry Get(string id) =>
        _jobs.TryGetValue(id, out var e) ? e : throw new InvalidOperationException($"event for unknown job '{id}'");

    private Entry GetReserved(string id)
    {
        var e = Get(id);
        return e.State == JobState.Reserved ? e : throw new InvalidOperationException($"job '{id}' is {e.State}, not reserved");
    }

    /// <summary>
    /// The job a command names: by its id, or by its sequence number in the queue written in digits
    /// (a generated id is its sequence number, so only jobs with ids of their own are looked up apart).
    /// </summary>
    private Entry? Find(string? idOrSeq)
    {
        if (idOrSeq is null)
            return null;
        if (_jobs.TryGetValue(idOrSeq, out var e))
            return e;
        // A sequence number in its one spelling: digits with no leading zero ("01" names nothing), after
        // the partition's prefix in a partition ("p2.17").
        if (_bySeq.Count == 0 || (IdPrefix.Length > 0 && !idOrSeq.StartsWith(IdPrefix, StringComparison.Ordinal)))
            return null;
        var digits = idOrSeq.AsSpan(IdPrefix.Length);
        return Names.IsDigits(digits.ToString()) && digits[0] != '0' && long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq)
               && _bySeq.TryGetValue(seq, out e)
            ? e
            : null;
    }

    private IFailure? CheckLease(ILeaseCommand cmd, out Entry e)
    {
        e = Find(cmd.JobId)!;
        if (e is null)
            return new NotFound(cmd.JobId ?? "");
        if (e.State != JobState.Reserved)
            return new NotReserved(e.Job.Id, e.State);
        if (e.Token != cmd.Token)
            return new StaleLease(e.Job.Id);
        return null;
    }

    /// <summary>
    /// Adds an entry to the index by id, and by sequence number when its id is its own (not its sequence
    /// number); false when a job has its id already.
    /// </summary>
    private bool TryIndex(Entry e)
    {
        if (!_jobs.TryAdd(e.Job.Id, e))
            return false;
        if (!Names.IsDigits(e.Job.Id))
            _bySeq.Add(e.Seq, e);
        return true;
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

    /// <summary>
    /// A lease ended without a verdict (expired or holder died): the attempt failed, and
    /// <see cref="RetryRules"/> says what follows: Ready again, the next run of a periodic job, or Buried.
    /// </summary>
    private void EndLease(Entry e, string reason, DateTimeOffset at)
    {
        if (EndedAsCancelled(e))
            return;
        Detach(e);
        var last = $"{reason}; attempt {e.Attempts} of {e.Job.MaxRetries + 1}";
        switch (RetryRules.AfterFailedAttempt(e.Job, e.Attempts))
        {
            case AfterFailure.Retry:
                e.LastError = reason; // why the attempt ended: shown with the job (stats-job, JobView)
                AddReady(e, at);
                break;
            case AfterFailure.NextRun:
                e.LastError = last;
                ScheduleNextRun(e, at);
                break;
            default:
                AddBuried(e, last);
                break;
        }
    }

    /// <summary>Puts a job in Ready, ready since <paramref name="since"/> (default: now), for the queue's lag.</summary>
    private void AddReady(Entry e, DateTimeOffset? since = null)
    {
        e.State = JobState.Ready;
        AdmitOrHold(e);
        _readySince.Append(e, (since ?? Now).UtcTicks);
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
        TotalBuries++;
        e.LastError = reason;
        e.BuryOrder = ++_buryCounter;
        _buried.Add(e);
        Endings?.Add(new JobEnded(Queue, e.Job.Id, e.Job.Payload.Class, JobOutcome.Buried, reason, Now, e.Attempts));
    }

    /// <summary>Takes a job out of the set its state puts it in.</summary>
    private void Detach(Entry e)
    {
        switch (e.State)
        {
            case JobState.Ready:
                LeaveReady(e);
                _readySince.Remove(e);
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
                KeyReleased(e);
                break;
            case JobState.Buried:
                _buried.Remove(e);
                break;
        }
    }

    /// <summary>A reserved job whose cancel was asked: whatever ends its lease but a completion ends it, as cancelled.</summary>
    private bool EndedAsCancelled(Entry e)
    {
        if (!e.CancelRequested)
            return false;
        Remove(e);
        TotalCancelled++;
        return true;
    }

    private void Remove(Entry e)
    {
        ReleaseUniqueKey(e);
        Detach(e);
        _jobs.Remove(e.Job.Id);
        _bySeq.Remove(e.Seq);
    }
}
