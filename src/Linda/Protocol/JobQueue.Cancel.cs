namespace Linda;

// Cancelling a job: at once when it waits, through its worker when it runs.
public static partial class JobQueue
{
    /// <summary>
    /// Cancels a job. A ready, delayed or buried job is removed at once (<see cref="Cancelled"/> with
    /// <c>WasRunning = false</c>). A reserved job's lease holder is told (<see cref="CancelJob"/>, on
    /// whichever node it runs), its handler's cancellation token fires, and the job ends as cancelled
    /// when the worker gives it back (a release, a bury, or its lease ending): not retried, counted in
    /// the stats. A run that completes anyway completes.
    /// </summary>
    public sealed record Cancel(string JobId) : IJobCommand;

    /// <summary>The job is cancelled (<paramref name="WasRunning"/> false: removed now) or its cancel was asked of its holder.</summary>
    public sealed record Cancelled(string JobId, bool WasRunning) : IReply;

    /// <summary>Told by a queue to the holder of a job's lease: stop running it.</summary>
    public sealed record CancelJob(string JobId, long Token) : IQueueMessage;

    /// <summary>A job waiting in the queue was cancelled (removed).</summary>
    public sealed record JobCancelled(DateTimeOffset At, string JobId) : IEvent;

    /// <summary>A running job's cancel was asked of its holder; the job ends as cancelled when its lease does.</summary>
    public sealed record JobCancelRequested(DateTimeOffset At, string JobId) : IEvent;

    /// <summary>
    /// A running job's progress, told by its worker (<c>ctx.ReportProgress</c>): kept by the queue in
    /// memory only (not in the journal: a restart or a failover forgets it until the next report),
    /// shown with the job (<see cref="JobView.Progress"/>). Not answered; ignored unless the lease is current.
    /// </summary>
    public sealed record ReportProgress(string JobId, long Token, int Percent, string? Message) : ICommand;
}
