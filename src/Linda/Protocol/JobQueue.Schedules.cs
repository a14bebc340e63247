namespace Linda;

// Recurring schedules (cron): their commands, replies and events.
public static partial class JobQueue
{
    /// <summary>What a schedule does with runs that were due while the queue was down or paused.</summary>
    public enum Misfire
    {
        /// <summary>One catch-up run now for all that were missed, then on schedule (the default).</summary>
        RunOnce = 0,
        /// <summary>No catch-up: the next run is the next one due from now.</summary>
        Skip = 1,
        /// <summary>Each missed run, at most the queue's <see cref="QueueLimits.MaxMisfireRuns"/> (the latest ones).</summary>
        RunAll = 2,
    }

    /// <summary>What a schedule does when a run is due while its previous run is still in the queue.</summary>
    public enum Overlap
    {
        /// <summary>Starts the run anyway (the default).</summary>
        Allow = 0,
        /// <summary>Skips the run while the previous one is leased (running).</summary>
        Skip = 1,
        /// <summary>Makes the run once the previous one has ended (completed, deleted or buried); runs due meanwhile are one.</summary>
        Queue = 2,
    }

    /// <summary>A schedule as it is kept: what it runs and when.</summary>
    /// <param name="ScheduleId">Its id, a name (as a job id).</param>
    /// <param name="Cron">A cron expression of 5 fields, or 6 with seconds first (Cronos's syntax).</param>
    /// <param name="TimeZone">The IANA time zone the expression is read in.</param>
    /// <param name="Payload">What each run's job runs.</param>
    /// <param name="Misfire">What happens to runs missed while the queue was down or paused.</param>
    /// <param name="Overlap">What happens to a run due while the previous one is still in the queue.</param>
    /// <param name="Priority">Each run's priority.</param>
    /// <param name="TimeToRun">Each run's lease; null: the queue's default.</param>
    /// <param name="MaxRetries">Each run's retries; null: the queue's default.</param>
    public sealed record ScheduleDefinition(string ScheduleId, string Cron, string TimeZone, JobPayload Payload, Misfire Misfire, Overlap Overlap,
        uint Priority, TimeSpan? TimeToRun, int? MaxRetries);

    /// <summary>
    /// Adds a schedule, or replaces the one with this id (its next run is then computed from now).
    /// Each run is a job with the id <c>{ScheduleId}/{occurrence in UTC, yyyyMMddTHHmmssZ}</c>, so one
    /// occurrence is one job. Answered with <see cref="ScheduleSaved"/>.
    /// </summary>
    public sealed record AddOrUpdateSchedule(string ScheduleId, string Cron, JobPayload Payload) : ICommand
    {
        /// <summary>The IANA time zone the expression is read in. <b>Default:</b> UTC.</summary>
        public string TimeZone { get; init; } = "UTC";

        /// <summary><b>Default:</b> <see cref="Misfire.RunOnce"/>.</summary>
        public Misfire Misfire { get; init; } = Misfire.RunOnce;

        /// <summary><b>Default:</b> <see cref="Overlap.Allow"/>.</summary>
        public Overlap Overlap { get; init; } = Overlap.Allow;

        /// <summary>Each run's priority. <b>Default:</b> 1024.</summary>
        public uint? Priority { get; init; }

        /// <summary>Each run's lease. <b>Default:</b> the queue's.</summary>
        public TimeSpan? TimeToRun { get; init; }

        /// <summary>Each run's retries. <b>Default:</b> the queue's.</summary>
        public int? MaxRetries { get; init; }
    }

    /// <summary>Removes a schedule (its runs already made stay): <see cref="ScheduleRemoved"/> or <see cref="NotFound"/>.</summary>
    public sealed record RemoveSchedule(string ScheduleId) : ICommand;

    /// <summary>Lists the queue's schedules: <see cref="ScheduleList"/>.</summary>
    public sealed record GetSchedules : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly GetSchedules Instance = new();
    }

    /// <summary>The schedule is saved; its next run is due at <paramref name="NextRunAt"/> (null: the expression has no future run).</summary>
    public sealed record ScheduleSaved(string ScheduleId, DateTimeOffset? NextRunAt) : IReply;

    /// <summary>The schedule is gone.</summary>
    public sealed record ScheduleRemoved(string ScheduleId) : IReply;

    /// <summary>A schedule with what it did so far.</summary>
    /// <param name="Definition">What it runs and when.</param>
    /// <param name="NextRunAt">Its next occurrence (null: none).</param>
    /// <param name="PendingSince">With <see cref="Overlap.Queue"/>: a run due since then waits for the previous one to end.</param>
    /// <param name="LastJobId">The job of its latest run.</param>
    /// <param name="LastRunAt">The occurrence of its latest run.</param>
    /// <param name="Runs">Runs made.</param>
    /// <param name="Skipped">Occurrences that made no run (misfire or overlap rules).</param>
    public sealed record ScheduleView(ScheduleDefinition Definition, DateTimeOffset? NextRunAt, DateTimeOffset? PendingSince, string? LastJobId,
        DateTimeOffset? LastRunAt, long Runs, long Skipped);

    /// <summary>The answer to <see cref="GetSchedules"/>, by id.</summary>
    public sealed record ScheduleList(IReadOnlyList<ScheduleView> Schedules) : IReply
    {
        /// <summary>Equal when every schedule is.</summary>
        public bool Equals(ScheduleList? other) => other is not null && Schedules.SequenceEqual(other.Schedules);

        /// <inheritdoc />
        public override int GetHashCode() => Schedules.Count;
    }

    /// <summary>A schedule was added or replaced; its next run is due at <paramref name="NextDue"/>.</summary>
    public sealed record ScheduleSet(DateTimeOffset At, ScheduleDefinition Definition, DateTimeOffset? NextDue) : IEvent;

    /// <summary>A schedule was removed.</summary>
    public sealed record ScheduleDropped(DateTimeOffset At, string ScheduleId) : IEvent;

    /// <summary>
    /// A schedule's due occurrences were decided at <paramref name="At"/>: <paramref name="Runs"/> are
    /// the occurrences that became jobs (pushed as they are applied), <paramref name="Skipped"/> how many
    /// made none, <paramref name="PendingSince"/> a run that waits for the previous one (Overlap.Queue),
    /// <paramref name="NextDue"/> the next occurrence.
    /// </summary>
    public sealed record ScheduleFired(DateTimeOffset At, string ScheduleId, IReadOnlyList<DateTimeOffset> Runs, int Skipped,
        DateTimeOffset? PendingSince, DateTimeOffset? NextDue) : IEvent
    {
        /// <summary>Equal when every field and run is.</summary>
        public bool Equals(ScheduleFired? other) =>
            other is not null && At == other.At && ScheduleId == other.ScheduleId && Runs.SequenceEqual(other.Runs) && Skipped == other.Skipped
            && PendingSince == other.PendingSince && NextDue == other.NextDue;

        /// <inheritdoc />
        public override int GetHashCode() => HashCode.Combine(At, ScheduleId, Runs.Count, NextDue);
    }
}
