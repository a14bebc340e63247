namespace Linda;

// The events a queue actor persists, in the past tense, each with the absolute time it happened.
public static partial class JobQueue
{
    /// <summary>A job was pushed; <paramref name="DueAt"/> is set when it starts in Delayed.</summary>
    public sealed record JobPushed(DateTimeOffset At, Job Job, DateTimeOffset? DueAt) : IEvent;

    /// <summary>A job was leased to <paramref name="Holder"/> (an actor path) until <paramref name="Deadline"/>.</summary>
    public sealed record JobReserved(DateTimeOffset At, string JobId, long Token, DateTimeOffset Deadline, string Holder) : IEvent;

    /// <summary>A lease was renewed until <paramref name="Deadline"/>.</summary>
    public sealed record JobTouched(DateTimeOffset At, string JobId, DateTimeOffset Deadline) : IEvent;

    /// <summary>A reserved job was completed.</summary>
    public sealed record JobCompleted(DateTimeOffset At, string JobId) : IEvent;

    /// <summary>A reserved job was released, to Delayed when <paramref name="DueAt"/> is set.</summary>
    public sealed record JobReleased(DateTimeOffset At, string JobId, uint? Priority, DateTimeOffset? DueAt, string? Error) : IEvent;

    /// <summary>A reserved job was buried.</summary>
    public sealed record JobBuried(DateTimeOffset At, string JobId, string Reason, uint? Priority) : IEvent;

    /// <summary>These jobs were kicked to Ready.</summary>
    public sealed record JobsKicked(DateTimeOffset At, IReadOnlyList<string> JobIds) : IEvent;

    /// <summary>A job was deleted.</summary>
    public sealed record JobDeleted(DateTimeOffset At, string JobId) : IEvent;

    /// <summary>A lease ended because its holder died; the attempt counts.</summary>
    public sealed record LeaseLost(DateTimeOffset At, string JobId, long Token, string Reason) : IEvent;

    /// <summary>The queue was paused until <paramref name="Until"/>.</summary>
    public sealed record QueuePaused(DateTimeOffset At, DateTimeOffset Until) : IEvent;

    /// <summary>A pause was ended early.</summary>
    public sealed record QueueResumed(DateTimeOffset At) : IEvent;

    /// <summary>
    /// The events of one journal write, in the order they were applied: what a queue persists (one row
    /// per write). Replay applies them one by one, each at its own <see cref="IEvent.At"/>, as if they
    /// had been written one by one. Journals written before it (one event per row) still replay.
    /// </summary>
    public sealed record EventBatch(IReadOnlyList<IEvent> Events) : IQueueMessage;
}
