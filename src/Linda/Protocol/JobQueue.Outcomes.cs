namespace Linda;

// What a queue tells its own node when a job ends, with linda.queue.outcome-events = on.
public static partial class JobQueue
{
    /// <summary>
    /// Published on the ActorSystem's EventStream of the node that hosts the queue, once the end of a
    /// job (or of one run of a periodic job) is in the journal, when <c>linda.queue.outcome-events = on</c>
    /// (<see cref="LindaSettings.OutcomeEvents"/>; off by default, and then nothing is paid). A job buried
    /// with its retries used up by an expired lease ends when the queue's clock passes the deadline
    /// (nothing is written for it), and is told then.
    /// </summary>
    /// <remarks>
    /// At most once: a crash of the queue's node between the write and the publication loses the
    /// notification (the job's end is in the journal all the same), and nothing is told again on recovery.
    /// Local only: it is never sent to another node, and is not one of the protocol's serialized messages.
    /// </remarks>
    /// <param name="Queue">The queue.</param>
    /// <param name="JobId">The job.</param>
    /// <param name="Class">Its handler class.</param>
    /// <param name="Outcome">How it ended.</param>
    /// <param name="Reason">Why it was buried (its bury reason or last error); null for a completion.</param>
    /// <param name="At">When it ended, by the queue's clock.</param>
    /// <param name="Attempts">The attempts it took (this run's, for a periodic job).</param>
    public sealed record JobEnded(string Queue, string JobId, string Class, JobOutcome Outcome, string? Reason, DateTimeOffset At, int Attempts);
}

/// <summary>How a job ended (<see cref="JobQueue.JobEnded"/>).</summary>
public enum JobOutcome
{
    /// <summary>Its handler completed it (for a periodic job: this run; the job waits for its next).</summary>
    Completed,

    /// <summary>It was buried: by its handler, or with its retries used up.</summary>
    Buried,
}
