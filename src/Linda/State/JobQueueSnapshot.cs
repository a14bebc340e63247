namespace Linda;

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
