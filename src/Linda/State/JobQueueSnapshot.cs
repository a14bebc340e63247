namespace Linda;

/// <summary>The whole state of a queue, as saved in a snapshot.</summary>
public sealed record JobQueueSnapshot(
    string Queue,
    DateTimeOffset Now,
    long NextSeq,
    long BuryCounter,
    DateTimeOffset? PausedUntil,
    IReadOnlyList<JobSnapshot> Jobs,
    IReadOnlyList<JobQueue.ScheduleView>? Schedules = null,
    IReadOnlyList<UniqueHoldSnapshot>? UniqueHolds = null) : JobQueue.IQueueMessage
{
    /// <summary>The queue's schedules (none in snapshots written before schedules were kept).</summary>
    public IReadOnlyList<JobQueue.ScheduleView> Schedules { get; init; } = Schedules ?? [];

    /// <summary>The unique keys still held by jobs that ended (the keys of jobs in the queue are on the jobs).</summary>
    public IReadOnlyList<UniqueHoldSnapshot> UniqueHolds { get; init; } = UniqueHolds ?? [];

    /// <summary>True when both snapshots hold the same state, job by job and schedule by schedule.</summary>
    public bool SameAs(JobQueueSnapshot other) =>
        Queue == other.Queue && Now == other.Now && NextSeq == other.NextSeq && BuryCounter == other.BuryCounter
        && PausedUntil == other.PausedUntil && Jobs.SequenceEqual(other.Jobs) && Schedules.SequenceEqual(other.Schedules) && UniqueHolds.SequenceEqual(other.UniqueHolds);
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
    TimeSpan Delay = default,
    bool CancelRequested = false);

/// <summary>A unique key held by a job that ended, until <paramref name="Until"/>.</summary>
public sealed record UniqueHoldSnapshot(string Key, string JobId, DateTimeOffset Until);
