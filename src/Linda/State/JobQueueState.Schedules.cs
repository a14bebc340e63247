using Cronos;
using static Linda.JobQueue;

namespace Linda;

// Recurring schedules: decided like commands (their firings are events, so a replay, a restart or a
// failover never makes an occurrence's run twice) and applied like pushes.
public sealed partial class JobQueueState
{
    // By id, and in the order they are due (soonest first, then by id).
    private readonly Dictionary<string, Schedule> _schedules = new(StringComparer.Ordinal);
    private readonly SortedSet<Schedule> _dueSchedules = new(Schedule.DueOrder.Instance);

    // How far a schedule's occurrences are walked in one decision before the rest are jumped over.
    private const int MaxOccurrencesWalked = 10_000;

    /// <summary>The format of the time in a run's job id: the occurrence in UTC, ISO 8601's basic form.</summary>
    public const string RunIdTimeFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>The job id of <paramref name="scheduleId"/>'s run for <paramref name="occurrence"/>.</summary>
    public static string RunId(string scheduleId, DateTimeOffset occurrence) =>
        scheduleId + "/" + occurrence.UtcDateTime.ToString(RunIdTimeFormat, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Schedules in the queue.</summary>
    public int ScheduleCount => _schedules.Count;

    /// <summary>The queue's schedules, by id.</summary>
    public IReadOnlyList<ScheduleView> Schedules() =>
        _schedules.Values.OrderBy(s => s.Definition.ScheduleId, StringComparer.Ordinal).Select(s => s.View()).ToArray();

    /// <summary>The soonest occurrence of any schedule (what the queue's timer waits for too).</summary>
    private DateTimeOffset? NextScheduleDue => _dueSchedules.Count > 0 ? _dueSchedules.Min!.NextDue : null;

    /// <summary>Decides an <see cref="AddOrUpdateSchedule"/>: a <see cref="ScheduleSet"/> or a refusal.</summary>
    public Decision SaveSchedule(AddOrUpdateSchedule cmd)
    {
        if (Names.Check(cmd.ScheduleId, "schedule id") is { } idError)
            return Decision.Refuse(new Rejected(RejectReason.InvalidJobId, idError));
        if (cmd.ScheduleId.Length + 1 + RunIdTimeFormat.Length - 6 > Names.MaxLength)
            return Decision.Refuse(new Rejected(RejectReason.InvalidJobId, $"schedule id is {cmd.ScheduleId.Length} characters; its runs' ids (id/yyyyMMddTHHmmssZ) must fit in {Names.MaxLength}"));
        if (!_schedules.ContainsKey(cmd.ScheduleId) && _schedules.Count >= Limits.MaxSchedules)
            return Decision.Refuse(new Rejected(RejectReason.InvalidSchedule, $"the queue has {_schedules.Count} schedules; the limit is {Limits.MaxSchedules}"));
        if (!Enum.IsDefined(cmd.Misfire) || !Enum.IsDefined(cmd.Overlap))
            return Decision.Refuse(new Rejected(RejectReason.InvalidSchedule, $"unknown misfire {cmd.Misfire} or overlap {cmd.Overlap}"));
        if (ParseCron(cmd.Cron, out var cron) is { } cronError)
            return Decision.Refuse(new Rejected(RejectReason.InvalidSchedule, cronError));
        if (FindZone(cmd.TimeZone, out var zone) is { } zoneError)
            return Decision.Refuse(new Rejected(RejectReason.InvalidSchedule, zoneError));
        // A run is a push: the same checks (the payload, the time-to-run, the retries).
        var sample = Push(new Push(Queue, cmd.Payload) { Id = RunId(cmd.ScheduleId, Now), Priority = cmd.Priority, TimeToRun = cmd.TimeToRun, MaxRetries = cmd.MaxRetries });
        if (sample.Reply is IFailure failure and not AlreadyExists)
            return Decision.Refuse(failure);
        var definition = new ScheduleDefinition(cmd.ScheduleId, cmd.Cron.Trim(), cmd.TimeZone, cmd.Payload, cmd.Misfire, cmd.Overlap,
            cmd.Priority ?? Job.DefaultPriority, cmd.TimeToRun, cmd.MaxRetries);
        var next = cron.GetNextOccurrence(Now, zone);
        return Decision.Accept(new ScheduleSet(Now, definition, next), new ScheduleSaved(cmd.ScheduleId, next));
    }

    /// <summary>Decides a <see cref="JobQueue.RemoveSchedule"/>.</summary>
    public Decision RemoveSchedule(RemoveSchedule cmd) =>
        cmd.ScheduleId is { } id && _schedules.ContainsKey(id)
            ? Decision.Accept(new ScheduleDropped(Now, id), new ScheduleRemoved(id))
            : Decision.Refuse(new NotFound(cmd.ScheduleId ?? ""));

    /// <summary>
    /// The next schedule decision due now: a schedule whose occurrence is due (not while the queue is
    /// paused: runs due then are decided when it ends, by the misfire rule), or whose queued run may go
    /// now that its previous run has ended. Null when none. Call it until it gives null.
    /// </summary>
    public Decision? FireDueSchedule()
    {
        if (PausedUntil is not null)
            return null;
        if (_dueSchedules.Count > 0 && _dueSchedules.Min!.NextDue is { } due && due <= Now)
            return Fire(_dueSchedules.Min);
        foreach (var s in _pendingSchedules)
        {
            if (!IsActive(s.LastJobId))
                return Decision.Accept(new ScheduleFired(Now, s.Definition.ScheduleId, [s.PendingSince!.Value], 0, null, s.NextDue),
                    new ScheduleSaved(s.Definition.ScheduleId, s.NextDue));
        }
        return null;
    }

    // Schedules with a run waiting for the previous one (Overlap.Queue): few, so looked at one by one.
    private readonly HashSet<Schedule> _pendingSchedules = [];

    private Decision Fire(Schedule s)
    {
        var d = s.Definition;
        // Every occurrence due by now, in order (a long outage is walked only so far, then jumped over).
        var due = new List<DateTimeOffset>();
        var walked = 0;
        DateTimeOffset? next = s.NextDue;
        while (next is { } occurrence && occurrence <= Now)
        {
            if (++walked > MaxOccurrencesWalked)
            {
                next = s.Cron.GetNextOccurrence(Now, s.Zone);
                break;
            }
            due.Add(occurrence);
            next = s.Cron.GetNextOccurrence(occurrence, s.Zone);
        }
        var jumped = Math.Max(0, walked - MaxOccurrencesWalked);
        var onTime = due.Where(o => Now - o <= Limits.ScheduleGrace).ToList();
        var missed = due.Take(due.Count - onTime.Count).ToList();
        var runs = new List<DateTimeOffset>(onTime.Count + 1);
        if (missed.Count > 0 || jumped > 0)
        {
            switch (d.Misfire)
            {
                case Misfire.RunOnce: runs.Add(missed.Count > 0 ? missed[^1] : due[0]); break;
                case Misfire.RunAll: runs.AddRange(missed.TakeLast(Limits.MaxMisfireRuns)); break;
            }
        }
        runs.AddRange(onTime.Where(o => !runs.Contains(o)));
        var pending = s.PendingSince;
        var queuedNow = false;
        if (runs.Count > 0)
        {
            switch (d.Overlap)
            {
                case Overlap.Skip when IsLeased(s.LastJobId):
                    runs.Clear();
                    break;
                case Overlap.Queue when IsActive(s.LastJobId):
                    queuedNow = pending is null;
                    pending ??= runs[^1]; // the runs due meanwhile are one, made when the previous has ended
                    runs.Clear();
                    break;
            }
        }
        var superseded = 0;
        if (runs.Count > 0 && pending is not null)
        {
            pending = null; // a queued run not yet made: the runs made now stand for it
            superseded = 1;
        }
        runs.RemoveAll(o => _jobs.ContainsKey(RunId(d.ScheduleId, o))); // made already: one occurrence, one job
        var skipped = due.Count + jumped - runs.Count - (queuedNow ? 1 : 0) + superseded;
        return Decision.Accept(new ScheduleFired(Now, d.ScheduleId, runs, skipped, pending, next), new ScheduleSaved(d.ScheduleId, next));
    }

    private bool IsLeased(string? jobId) => jobId is not null && _jobs.TryGetValue(jobId, out var e) && e.State == JobState.Reserved;

    // Still in the queue and not buried: a run that has not ended.
    private bool IsActive(string? jobId) => jobId is not null && _jobs.TryGetValue(jobId, out var e) && e.State != JobState.Buried;

    private void ApplyScheduleSet(ScheduleSet e)
    {
        if (ParseCron(e.Definition.Cron, out var cron) is { } cronError || FindZone(e.Definition.TimeZone, out var zone) is { } zoneError)
            throw new InvalidOperationException($"schedule '{e.Definition.ScheduleId}' can't be read: {e.Definition.Cron} in {e.Definition.TimeZone}");
        if (_schedules.Remove(e.Definition.ScheduleId, out var old))
        {
            _dueSchedules.Remove(old);
            _pendingSchedules.Remove(old);
        }
        var s = new Schedule(e.Definition, cron, zone)
        {
            NextDue = e.NextDue,
            LastJobId = old?.LastJobId,
            LastRunAt = old?.LastRunAt,
            Runs = old?.Runs ?? 0,
            Skipped = old?.Skipped ?? 0,
        };
        AddSchedule(s);
    }

    private void AddSchedule(Schedule s)
    {
        _schedules.Add(s.Definition.ScheduleId, s);
        if (s.NextDue is not null)
            _dueSchedules.Add(s);
        if (s.PendingSince is not null)
            _pendingSchedules.Add(s);
    }

    private void ApplyScheduleDropped(ScheduleDropped e)
    {
        if (!_schedules.Remove(e.ScheduleId, out var s))
            throw new InvalidOperationException($"event for unknown schedule '{e.ScheduleId}'");
        _dueSchedules.Remove(s);
        _pendingSchedules.Remove(s);
    }

    private void ApplyScheduleFired(ScheduleFired e)
    {
        if (!_schedules.TryGetValue(e.ScheduleId, out var s))
            throw new InvalidOperationException($"event for unknown schedule '{e.ScheduleId}'");
        _dueSchedules.Remove(s);
        _pendingSchedules.Remove(s);
        var d = s.Definition;
        foreach (var occurrence in e.Runs)
        {
            var id = RunId(d.ScheduleId, occurrence);
            var maxRetries = d.MaxRetries is { } m ? (m < 0 ? null : m) : Limits.DefaultMaxRetries;
            var job = new Job(id, Queue, d.Payload, d.Priority, d.TimeToRun ?? Limits.DefaultTimeToRun, maxRetries, null, e.At) { Timeout = Limits.DefaultTimeout };
            ApplyPushed(new JobPushed(e.At, job, null));
            s.LastJobId = id;
            s.LastRunAt = occurrence;
            s.Runs++;
        }
        s.Skipped += e.Skipped;
        s.PendingSince = e.PendingSince;
        s.NextDue = e.NextDue;
        if (s.NextDue is not null)
            _dueSchedules.Add(s);
        if (s.PendingSince is not null)
            _pendingSchedules.Add(s);
    }

    /// <summary>Parses a cron expression of 5 fields, or 6 with seconds first; the reason when it isn't one.</summary>
    internal static string? ParseCron(string? text, out CronExpression cron)
    {
        cron = null!;
        if (string.IsNullOrWhiteSpace(text))
            return "a schedule needs a cron expression";
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6) && !text.TrimStart().StartsWith('@'))
            return $"cron expression '{text}' has {fields} fields; it needs 5 (minute hour day month weekday) or 6 (with seconds first)";
        try
        {
            cron = CronExpression.Parse(text.Trim(), fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
            return null;
        }
        catch (CronFormatException e)
        {
            return $"cron expression '{text}' is not valid: {e.Message}";
        }
    }

    /// <summary>Finds an IANA (or Windows) time zone by id; the reason when there is none.</summary>
    internal static string? FindZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrEmpty(id) || id == "UTC")
            return string.IsNullOrEmpty(id) ? "a schedule needs a time zone (an IANA id such as Europe/Berlin, or UTC)" : null;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return null;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return $"time zone '{id}' is not known here (an IANA id such as Europe/Berlin, or UTC)";
        }
    }

    /// <summary>One schedule: its definition, parsed, and what it did.</summary>
    internal sealed class Schedule(ScheduleDefinition definition, CronExpression cron, TimeZoneInfo zone)
    {
        public readonly ScheduleDefinition Definition = definition;
        public readonly CronExpression Cron = cron;
        public readonly TimeZoneInfo Zone = zone;
        public DateTimeOffset? NextDue;
        public DateTimeOffset? PendingSince;
        public string? LastJobId;
        public DateTimeOffset? LastRunAt;
        public long Runs;
        public long Skipped;

        /// <summary>The schedule as a reply and a snapshot show it.</summary>
        public ScheduleView View() => new(Definition, NextDue, PendingSince, LastJobId, LastRunAt, Runs, Skipped);

        /// <summary>Soonest due first, then by id.</summary>
        internal sealed class DueOrder : IComparer<Schedule>
        {
            public static readonly DueOrder Instance = new();

            public int Compare(Schedule? x, Schedule? y)
            {
                var c = Nullable.Compare(x!.NextDue, y!.NextDue);
                return c != 0 ? c : string.CompareOrdinal(x.Definition.ScheduleId, y.Definition.ScheduleId);
            }
        }
    }

    private void RestoreSchedules(IReadOnlyList<ScheduleView> schedules)
    {
        foreach (var snap in schedules)
        {
            if (ParseCron(snap.Definition.Cron, out var cron) is not null || FindZone(snap.Definition.TimeZone, out var zone) is not null)
                throw new InvalidOperationException($"snapshot of schedule '{snap.Definition.ScheduleId}' can't be read: {snap.Definition.Cron} in {snap.Definition.TimeZone}");
            if (_schedules.ContainsKey(snap.Definition.ScheduleId))
                throw new InvalidOperationException($"snapshot holds schedule '{snap.Definition.ScheduleId}' twice");
            AddSchedule(new Schedule(snap.Definition, cron, zone)
            {
                NextDue = snap.NextRunAt,
                PendingSince = snap.PendingSince,
                LastJobId = snap.LastJobId,
                LastRunAt = snap.LastRunAt,
                Runs = snap.Runs,
                Skipped = snap.Skipped,
            });
        }
    }
}
